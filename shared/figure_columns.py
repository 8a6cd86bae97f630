"""Names of a figure's fields, light to import: the command line lists them before anything heavy loads."""

# A figure's own fields, in the order every table and CSV of figures shows them (the store's rows and
# `wenming extract`'s columns), between where it is from and where it stands in the text.
FIGURE_FIELDS = (
    "value",
    "value_max",
    "unit_kind",
    "measure_word",
    "qualifier",
    "change",
    "indicator",
    "subject",
    "city",
    "place_code",
    "place_level",
    "place_basis",
    "year",
)
