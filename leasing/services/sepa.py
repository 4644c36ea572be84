"""SEPA direct debits: the pain.008.001.02 file of a batch.

The file is built with `sepaxml` and validated against the ISO 20022 pain.008.001.02 XSD that ships with it before
it is stored; staff download it and submit it to the bank. Debtors appear under a pseudonym (the contract number):
the IBAN (and the BIC, when given) are the only personal values the portal keeps. The batch's collection date is a
TARGET2 business day at least one business day after the file is made (`leasing.target2`). Rejects and returns come
back as ISO 20022 files (`leasing.services.sepa_returns`).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import pathlib
from functools import lru_cache
from xml.etree import ElementTree

import sepaxml
import xmlschema
from defusedxml import ElementTree as DefusedElementTree
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from sepaxml import SepaDD

from leasing import target2
from leasing.encryption import field_decrypt
from leasing.models import DirectDebitBatch, DirectDebitBatchStatus

PAIN_008_SCHEMA = "pain.008.001.02"
PAIN_008_NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_008_SCHEMA}"
logger = logging.getLogger(__name__)


def sepa_creditor() -> dict[str, str]:
    """The creditor (the lessor) as the bank knows it (settings; their defaults are the scheme's test identifiers)."""
    return {
        "name": settings.LEASING_SEPA_CREDITOR_NAME,
        "IBAN": settings.LEASING_SEPA_CREDITOR_IBAN,
        "BIC": settings.LEASING_SEPA_CREDITOR_BIC,
        "creditor_id": settings.LEASING_SEPA_CREDITOR_ID,
    }


def pain008_build(*, batch: DirectDebitBatch) -> bytes:
    """The batch's debits as a schema-valid pain.008.001.02 document (raises if it does not validate).

    `sepaxml` writes the transactions through its public interface; two things it does not offer are set on the
    exported document before it is validated against the XSD: our batch id as MsgId (so a pain.002 names the batch),
    and the debtor agent `Othr/Id NOTPROVIDED` when the BIC is not known, as the EPC implementation guidelines ask.
    """
    document = SepaDD({**sepa_creditor(), "batch": True, "currency": batch.currency}, schema=PAIN_008_SCHEMA)
    collections = batch.collections.select_related("contract__mandate", "schedule_item").order_by("id")
    for collection in collections:
        mandate = collection.contract.mandate
        payment = {
            "name": f"FinLab customer {collection.contract.number}",
            "IBAN": field_decrypt(blob=mandate.iban_encrypted, field="mandate.iban"),
            "amount": collection.amount,
            "type": collection.sequence_type,
            "collection_date": batch.collection_date,
            "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on,
            "description": f"Contract {collection.contract.number} instalment {collection.schedule_item.number}",
            "endtoend_id": collection.end_to_end_id,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        document.add_payment(payment)
    xml = _pain008_complete(exported=document.export(validate=False), message_id=batch.message_id)
    pain008_validate(content=xml)
    return xml


def _pain008_complete(*, exported: bytes, message_id: str) -> bytes:
    """Our message id in the group header, and NOTPROVIDED in every debtor agent that has no BIC."""
    ElementTree.register_namespace("", PAIN_008_NAMESPACE)
    root = DefusedElementTree.fromstring(exported)
    namespace = {"p": PAIN_008_NAMESPACE}
    root.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespace).text = message_id
    for institution in root.iterfind(".//p:DrctDbtTxInf/p:DbtrAgt/p:FinInstnId", namespace):
        if institution.find("p:BIC", namespace) is None:
            other = ElementTree.SubElement(institution, f"{{{PAIN_008_NAMESPACE}}}Othr")
            ElementTree.SubElement(other, f"{{{PAIN_008_NAMESPACE}}}Id").text = "NOTPROVIDED"
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def pain008_validate(*, content: bytes) -> None:
    """Raises `xmlschema.XMLSchemaValidationError` unless `content` is valid pain.008.001.02."""
    _pain008_schema().validate(io.BytesIO(content))


@lru_cache(maxsize=1)
def _pain008_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(pathlib.Path(sepaxml.__file__).parent / "schemas" / f"{PAIN_008_SCHEMA}.xsd"))


@transaction.atomic
def direct_debit_batch_export(*, batch_id: int, on: datetime.date | None = None) -> DirectDebitBatch:
    """Closes an open batch and stores its pain.008 file; an exported batch is returned unchanged.

    The batch is built by the D-1 deadline of its collection date; when staff export it later than that, the bank
    would refuse the date, so the batch asks for the earliest date a file made `on` (today) can still get.
    """
    batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status == DirectDebitBatchStatus.EXPORTED:
        return batch
    earliest = target2.earliest_collection_date(submitted_on=on or timezone.localdate())
    if batch.collection_date < earliest:
        logger.warning(
            "batch %s exported after its deadline: collection date %s moved to %s",
            batch.message_id,
            batch.collection_date,
            earliest,
        )
        batch.collection_date = earliest
    xml = pain008_build(batch=batch)
    batch.file_xml, batch.file_sha256 = xml, hashlib.sha256(xml).hexdigest()
    batch.status, batch.exported_at = DirectDebitBatchStatus.EXPORTED, timezone.now()
    batch.save()
    return batch
