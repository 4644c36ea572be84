"""Named errors of the leasing services; each carries the machine-readable `code` the API and pages show."""

from core.errors import ApplicationError, ConflictError, ValidationFailed


class UnknownProductError(ValidationFailed):
    code = "product_unknown"


class PriceInvalidError(ValidationFailed):
    code = "price_invalid"


class DownPaymentInvalidError(ValidationFailed):
    code = "down_payment_invalid"


class ResidualInvalidError(ValidationFailed):
    code = "residual_invalid"


class TermOutsideProductError(ValidationFailed):
    code = "term_outside_product"


class MileageInvalidError(ValidationFailed):
    code = "mileage_invalid"


class DateInvalidError(ValidationFailed):
    code = "date_invalid"


class RepaymentTooSmallError(ValidationFailed):
    """The down payment and the residual value leave less than one minor unit per instalment to repay over the term,
    so a schedule of positive instalments does not exist."""

    code = "repayment_too_small"


class ServicePackageInvalidError(ValidationFailed):
    code = "service_package_invalid"


class ProductInvalidError(ValidationFailed):
    code = "product_invalid"


class ApplicationStateError(ConflictError):
    code = "application_state_invalid"


class FourEyesError(ConflictError):
    code = "four_eyes_same_user"


class IdentityCheckRequiredError(ConflictError):
    """The application's customer has not (yet) shown over OpenID4VP that they are over 18."""

    code = "identity_check_required"


class ContractStateError(ConflictError):
    code = "contract_state_invalid"


class DocumentMismatchError(ConflictError):
    code = "document_hash_mismatch"


class PayoffQuoteExpiredError(ConflictError):
    code = "payoff_quote_expired"


class MandateInvalidError(ValidationFailed):
    code = "mandate_invalid"


class ReturnFileInvalidError(ValidationFailed):
    code = "return_file_invalid"


class EncryptionKeyMissingError(ApplicationError):
    status = 500
    code = "encryption_key_missing"
