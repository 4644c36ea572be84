"""English as the portal writes it: British day-month order, so "01/02/2027" is 1 February in forms as on pages.

Django's own "en" input formats read "01/02/2027" as 2 January; ISO dates ("2027-02-01") and the dotted German form
stay accepted in both languages. Display formats come from core.locale_format (Babel), not from here.
"""

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
FIRST_DAY_OF_WEEK = 1
