"""The registry declares every owner kind, purpose and transfer code once; the code base uses nothing else."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from payments.ledger.registry import (
    CODE_RANGES,
    HOUSE_ACCOUNTS,
    PURPOSES,
    Owner,
    OwnerKind,
    Purpose,
    TransferCode,
    code_range_of,
)

REPOSITORY = Path(__file__).resolve().parents[3]
PRODUCT_PACKAGES = ("accounts", "core", "identity", "leasing", "machines", "payments", "portal", "bench")


def _production_modules() -> list[Path]:
    return [
        path
        for package in PRODUCT_PACKAGES
        for path in (REPOSITORY / package).rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def test_the_code_ranges_do_not_overlap() -> None:
    for first, second in itertools.combinations(CODE_RANGES, 2):
        assert first.last < second.first or second.last < first.first, (first, second)


def test_every_transfer_code_lies_in_exactly_one_range() -> None:
    for code in TransferCode:
        assert sum(code in code_range for code_range in CODE_RANGES) == 1, code
    assert {code_range_of(code).product for code in TransferCode} == {"qr", "leasing", "machines"}
    assert code_range_of(TransferCode.LEASE_DEALER_PAYOUT).product == "leasing"
    assert code_range_of(500) is None


def test_every_purpose_is_declared_once_and_house_purposes_name_their_house_account() -> None:
    assert set(PURPOSES) == set(Purpose)
    house_purposes = {purpose for purpose, spec in PURPOSES.items() if spec.owner_kind is OwnerKind.HOUSE}
    assert house_purposes == set(HOUSE_ACCOUNTS)


def test_owner_references_are_built_from_the_typed_owner() -> None:
    assert Owner.customer(12).reference == "user:12"
    assert Owner.dealer(3).reference == "dealer:3"
    assert Owner.vehicle("did:key:z6Mk" + "a" * 40).reference == "vehicle:" + "a" * 24
    assert Owner.station_operator(5).reference == "operator:5"


def _transfer_code_arguments(tree: ast.AST) -> list[ast.expr]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "TransferSpec":
            found += [keyword.value for keyword in node.keywords if keyword.arg == "code"]
            if len(node.args) >= 6:
                found.append(node.args[5])
    return found


def test_every_transfer_code_in_the_code_base_comes_from_the_registry() -> None:
    """A transfer of a product names its code as `TransferCode.<NAME>` (or passes one through a typed variable);
    a bare number would be a code nobody declared."""
    offending = []
    for path in _production_modules():
        for argument in _transfer_code_arguments(ast.parse(path.read_text())):
            if isinstance(argument, ast.Constant) and argument.value != 0:  # 0: a resolution takes its pending's code
                offending.append(f"{path.relative_to(REPOSITORY)}:{argument.lineno} code={argument.value}")
            elif isinstance(argument, ast.Attribute) and getattr(argument.value, "id", "") == "TransferCode":
                assert argument.attr in TransferCode.__members__, f"{path}:{argument.lineno}"
    assert offending == []


def test_only_the_ledger_opens_accounts_or_creates_transfers() -> None:
    """Products go through `payments.ledger.client`; the ledger's own services are called by the client, the ledger
    API (back office), settlement (posts of pending transfers it was handed) and benchmarks only."""
    allowed = {"payments/ledger", "payments/api/ledger.py", "payments/settlement/services.py", "bench"}
    callers = set()
    for path in _production_modules():
        relative = str(path.relative_to(REPOSITORY))
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "payments.ledger.services":
                names = {alias.name for alias in node.names}
                if names & {"account_create", "transfers_create"}:
                    callers.add(relative)
    assert {caller for caller in callers if not any(caller.startswith(prefix) for prefix in allowed)} == set()


def test_no_module_builds_ledger_owner_references_by_hand() -> None:
    """ "user:12" and "dealer:3" as ledger owners are made by `Owner` only: no product module passes or filters an
    `owner_reference` it spelled out itself (the ledger's hand-opened accounts and benchmarks use other kinds)."""
    prefixes = tuple(f"{kind.value}:" for kind in OwnerKind)
    offending = []
    for path in _production_modules():
        relative = str(path.relative_to(REPOSITORY))
        if relative.startswith("payments/ledger/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.keyword) or not (node.arg or "").startswith("owner_reference"):
                continue
            value = node.value
            text = value.values[0] if isinstance(value, ast.JoinedStr) and value.values else value
            if isinstance(text, ast.Constant) and str(text.value).startswith(prefixes):
                offending.append(f"{relative}:{value.lineno} {ast.unparse(value)}")
    assert offending == []
