"""Port of the factoring use cases: the policies' delegations and the invoices assigned to a factor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tradecover.domain.factoring import Delegation
from tradecover.services.ledger_ports import FactorAssignment


@dataclass(frozen=True)
class FactoredInvoice:
    """An invoice assigned to a factor organisation, with the ledger it belongs to."""

    policy_id: str
    buyer_id: str
    assignment: FactorAssignment


class FactoringStore(Protocol):
    def add_delegation(self, delegation: Delegation) -> None: ...
    def delegations_of(self, policy_id: str, *, lock: bool = False) -> list[Delegation]:
        """The policy's delegations, oldest start first; ``lock`` serialises concurrent endorsements."""
        ...

    def delegations_to(self, factor_id: str) -> list[Delegation]:
        """Every policy's delegations naming the factor."""
        ...

    def assigned_to(self, factor_id: str) -> list[FactoredInvoice]:
        """The invoices assigned to the factor organisation, every policy's."""
        ...
