from django.urls import path

from leasing.views import accounts, public, staff

app_name = "leasing"

urlpatterns = [
    path("", public.quote_calculator, name="quote-calculator"),
    path("quotes/<uuid:public_id>/", public.quote_detail, name="quote-detail"),
    path("quotes/<uuid:public_id>/pdf", public.quote_pdf, name="quote-pdf"),
    path("quotes/<uuid:public_id>/apply/", public.application_create, name="application-create"),
    path("applications/", accounts.application_list, name="application-list"),
    path("applications/<int:application_id>/", accounts.application_detail, name="application-detail"),
    path("applications/<int:application_id>/status.json", accounts.application_status, name="application-status"),
    path(
        "applications/<int:application_id>/identity-check/",
        accounts.identity_check_start_view,
        name="identity-check-start",
    ),
    path("contracts/", accounts.contract_list, name="contract-list"),
    path("contracts/<int:contract_id>/", accounts.contract_detail, name="contract-detail"),
    path("contracts/<int:contract_id>/document.pdf", accounts.contract_document, name="contract-document"),
    path("contracts/<int:contract_id>/accept/", accounts.contract_accept_view, name="contract-accept"),
    path("contracts/<int:contract_id>/payoff/", accounts.payoff_quote_create_view, name="payoff-quote-create"),
    path("contracts/<int:contract_id>/letters/<int:letter_id>.pdf", accounts.dunning_letter, name="dunning-letter"),
    path("dealer/payouts/", accounts.dealer_lease_payouts, name="dealer-lease-payouts"),
    path("back-office/products/", staff.product_list, name="product-list"),
    path("back-office/products/new/", staff.product_edit, name="product-create"),
    path("back-office/products/<int:product_id>/", staff.product_edit, name="product-edit"),
    path("back-office/service-packages/new/", staff.service_package_create, name="service-package-create"),
    path(
        "back-office/applications/<int:application_id>/verdict/", staff.application_verdict, name="application-verdict"
    ),
    path(
        "back-office/applications/<int:application_id>/approve/", staff.application_approve, name="application-approve"
    ),
    path(
        "back-office/applications/<int:application_id>/decline/", staff.application_decline, name="application-decline"
    ),
    path("back-office/contracts/<int:contract_id>/pause/", staff.contract_pause, name="contract-pause"),
    path("back-office/contracts/<int:contract_id>/terminate/", staff.contract_terminate, name="contract-terminate"),
    path(
        "back-office/contracts/<int:contract_id>/end-of-term/", staff.contract_end_of_term, name="contract-end-of-term"
    ),
    path(
        "back-office/contracts/<int:contract_id>/restructure/", staff.contract_restructure, name="contract-restructure"
    ),
    path("back-office/arrears/", staff.arrears_dashboard, name="arrears"),
    path("back-office/direct-debits/", staff.direct_debits, name="direct-debits"),
    path("back-office/direct-debits/<int:batch_id>/pain008.xml", staff.direct_debit_file, name="direct-debit-file"),
]
