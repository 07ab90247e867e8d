from esmvalcore import _Missing


class Recipe(_Missing):
    pass
