from esmvalcore import _Missing

CFG = {}


class Session(_Missing):
    pass
