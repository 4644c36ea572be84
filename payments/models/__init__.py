"""Models of payments: the double-entry ledger and the settlement outbox."""

from payments.models.checkout import *  # noqa: F403
from payments.models.ledger import *  # noqa: F403
from payments.models.qr import *  # noqa: F403
from payments.models.settlement import *  # noqa: F403
