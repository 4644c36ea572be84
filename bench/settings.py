"""Settings for `make bench` only: the test settings plus django-hordak, the baseline the ledger is compared with.

django-hordak (and its mptt/djmoney dependencies) is installed for the comparison and never in the portal itself.
"""

from portal.settings.test import *  # noqa: F403
from portal.settings.test import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "mptt", "djmoney", "hordak"]
HORDAK_DECIMAL_PLACES = 2
HORDAK_MAX_DIGITS = 13
DEFAULT_CURRENCY = "EUR"
CURRENCIES = ["EUR"]
