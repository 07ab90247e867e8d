from esmvalcore import _Missing


class DataFile(_Missing):
    pass


class ImageFile(_Missing):
    pass


class RecipeOutput(_Missing):
    pass
