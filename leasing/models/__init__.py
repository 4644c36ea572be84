"""Models of the leasing app: products, quotes, applications, contracts, schedules, collections and arrears."""

from leasing.models.applications import *  # noqa: F403
from leasing.models.collections import *  # noqa: F403
from leasing.models.contracts import *  # noqa: F403
from leasing.models.identity_checks import *  # noqa: F403
from leasing.models.products import *  # noqa: F403
