"""Helpers for the direct-debit tests: a SEPA contract whose debits were notified and put into a batch, and bank
files (pain.002.001.03, camt.054.001.02) written the way banks write them."""

from __future__ import annotations

import datetime

from django.utils import timezone

from leasing import target2
from leasing.models import Collection, Contract, DirectDebitPreNotification
from leasing.services import collections, pre_notifications
from leasing.tests import factories

IBAN = "NL91ABNA0417164300"
CREDITOR_IBAN = "DE89370400440532013000"


def notices_sent(*, on: datetime.date, capture) -> None:
    """Runs the notice job on `on` and lets its e-mails go out (the Celery tasks queued after the commit)."""
    with capture(execute=True):
        pre_notifications.pre_notifications_run(on=on)


def batch_built(*, contract: Contract) -> int:
    """Without the test's on-commit hook: notices written today and delivered by calling the delivery service (what
    the Celery task does), then the run on the D-1 deadline; returns the batch id of the contract's first debit."""
    pre_notifications.pre_notifications_run(on=timezone.localdate())
    notices = DirectDebitPreNotification.objects.filter(contract=contract)
    for notice_id in notices.values_list("id", flat=True):
        pre_notifications.pre_notification_deliver(pre_notification_id=notice_id)
    collections.collections_run(on=target2.submission_deadline(notices.first().collection_date))
    return contract.collections.order_by("id").first().batch_id


def sepa_contract(*, customer, back_office, product, **overrides) -> Contract:
    return factories.contract_active(
        customer=customer,
        back_office=back_office,
        product=product,
        method="sepa_direct_debit",
        iban=IBAN,
        timing="in_advance",
        **overrides,
    )


def collected(*, customer, back_office, product, capture, **overrides) -> Contract:
    """A SEPA contract whose first two rows (fee and instalment 1, due on the start date) were notified today and
    put into the batch of their collection date on its D-1 deadline."""
    contract = sepa_contract(customer=customer, back_office=back_office, product=product, **overrides)
    notices_sent(on=timezone.localdate(), capture=capture)
    collection_date = DirectDebitPreNotification.objects.filter(contract=contract).first().collection_date
    result = collections.collections_run(on=target2.submission_deadline(collection_date))
    assert result.submitted == 2
    return contract


def amount_text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def pain002(
    *, message_id: str, batch_message_id: str, rejects: list[tuple[Collection, str]], group_status="PART"
) -> bytes:
    """A payment status report rejecting `rejects` (collection, reason code) of the pain.008 `batch_message_id`."""
    transactions = "".join(
        f"""
      <TxInfAndSts>
        <StsId>{collection.end_to_end_id}-S</StsId>
        <OrgnlEndToEndId>{collection.end_to_end_id}</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Orgtr><Id><OrgId><BICOrBEI>ABNANL2A</BICOrBEI></OrgId></Id></Orgtr><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>
        <OrgnlTxRef>
          <Amt><InstdAmt Ccy="EUR">{amount_text(collection.amount)}</InstdAmt></Amt>
          <ReqdColltnDt>{collection.batch.collection_date:%Y-%m-%d}</ReqdColltnDt>
        </OrgnlTxRef>
      </TxInfAndSts>"""
        for collection, reason in rejects
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>{message_id}</MsgId>
      <CreDtTm>2027-03-29T08:15:00</CreDtTm>
      <DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>{batch_message_id}</OrgnlMsgId>
      <OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
      <GrpSts>{group_status}</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>FLDD-PMTINF-1</OrgnlPmtInfId>
      <PmtInfSts>PART</PmtInfSts>{transactions}
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
""".encode()


def camt054(*, message_id: str, returns: list[tuple[Collection, str]], account_iban: str = CREDITOR_IBAN) -> bytes:
    """A debit notification on the creditor account: each of `returns` (collection, reason code) returned."""
    entries = "".join(
        f"""
      <Ntry>
        <NtryRef>R-{collection.end_to_end_id}</NtryRef>
        <Amt Ccy="EUR">{amount_text(collection.amount)}</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2027-04-06</Dt></BookgDt>
        <ValDt><Dt>2027-04-06</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>{collection.end_to_end_id}</EndToEndId><MndtId>{collection.contract.mandate.reference}</MndtId></Refs>
            <AmtDtls><InstdAmt><Amt Ccy="EUR">{amount_text(collection.amount)}</Amt></InstdAmt></AmtDtls>
            <RtrInf><Orgtr><Nm>ABN AMRO BANK N.V.</Nm></Orgtr><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>"""
        for collection, reason in returns
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr>
      <MsgId>{message_id}</MsgId>
      <CreDtTm>2027-04-06T18:00:00</CreDtTm>
    </GrpHdr>
    <Ntfctn>
      <Id>{message_id}-1</Id>
      <CreDtTm>2027-04-06T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{account_iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{entries}
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
""".encode()
