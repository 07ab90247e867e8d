# needs:
# provides: normalized

# %%
def normalized(name):
    """Names are compared ignoring case and punctuation, so PCR-GLOBWB finds PCRGlobWB."""
    return "".join(character for character in name.lower() if character.isalnum())
