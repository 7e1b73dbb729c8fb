"""Reading a placeOrder (3) request: its fields walked in the order ib_async 2.1.0 writes them.

A placeOrder has no field names and no fixed layout: some blocks are there only when an
earlier field says so (combo legs of a BAG, delta-neutral terms, scale terms, a hedge
parameter, algo parameters, conditions), and faProfile is gone from server version 177.
So the fake does not index it by fixed offsets: `parse_place_order` walks it as
`ib_async.client.Client.placeOrder` writes it, skipping each optional block by the count or
flag that announces it, and checks that exactly the fields that version ends with are
left. A layout the walk gets wrong then fails loudly (ValueError) instead of silently
reading a neighbouring field.

The positions it found each term at are kept in `PlaceOrderRequest.positions`, so a test
can pin them against hand-counted offsets at each server version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ("PlaceOrderRequest", "parse_place_order")

# ib_async writes an unset double as "", but a caller may send IB's own sentinel.
_UNSET_DOUBLE = Decimal("1.7976931348623157e308")

# Fields of each order condition after its type (the condition dataclass' fields less
# condType), by condType: price 1, time 3, margin 4, execution 5, volume 6, percent change 7.
_CONDITION_FIELDS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}


@dataclass(frozen=True, slots=True)
class PlaceOrderRequest:
    """The terms of one placeOrder the fake acts on (the rest is walked past, unread)."""

    order_id: int
    contract_fields: list[str]  # conId .. tradingClass, the 12 a request names a contract by
    action: str
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    oca_type: int
    trail_stop: Decimal | None  # trailStopPrice
    trailing_percent: Decimal | None
    limit_offset: Decimal | None  # lmtPriceOffset
    positions: dict[str, int] = field(default_factory=dict)  # ib_async's name -> index


class _Cursor:
    """The request's fields read front to back, remembering where each named one was."""

    def __init__(self, fields: list[str]) -> None:
        self._fields = fields
        self.index = 0
        self.positions: dict[str, int] = {}

    def take(self, name: str = "") -> str:
        if self.index >= len(self._fields):
            raise ValueError(f"placeOrder ended after {len(self._fields)} fields, "
                             f"reading {name or 'a field'}")
        value = self._fields[self.index]
        if name:
            self.positions[name] = self.index
        self.index += 1
        return value

    def skip(self, count: int) -> None:
        for _ in range(count):
            self.take()

    def count(self, name: str) -> int:
        """A block's length field: how many entries follow."""
        return int(self.take(name) or 0)

    @property
    def left(self) -> int:
        return len(self._fields) - self.index


def _price(text: str) -> Decimal | None:
    if not text:
        return None
    value = Decimal(text)
    return None if value >= _UNSET_DOUBLE else value


def parse_place_order(version: int, fields: list[str]) -> PlaceOrderRequest:
    """Read a placeOrder sent at server `version` the way ib_async 2.1.0 wrote it.

    Raises:
        ValueError: the fields do not follow that layout (too few, or some left over).
    """
    cursor = _Cursor(fields)
    cursor.take("msgId")
    order_id = int(cursor.take("orderId"))
    contract_fields = [cursor.take() for _ in range(12)]
    sec_type = contract_fields[2]
    cursor.skip(2)  # secIdType, secId
    action = cursor.take("action")
    quantity = Decimal(cursor.take("totalQuantity") or "0")
    order_type = cursor.take("orderType")
    limit_price = _price(cursor.take("lmtPrice"))
    aux_price = _price(cursor.take("auxPrice"))
    tif = cursor.take("tif")
    oca_group = cursor.take("ocaGroup")
    account = cursor.take("account")
    cursor.skip(2)  # openClose, origin
    order_ref = cursor.take("orderRef")
    transmit = cursor.take("transmit") != "0"  # ib_async writes a bool as "1" / "0"
    parent_id = int(cursor.take("parentId") or 0)
    cursor.skip(6)  # blockOrder, sweepToFill, displaySize, triggerMethod, outsideRth, hidden
    if sec_type == "BAG":
        cursor.skip(8 * cursor.count("comboLegs"))
        cursor.skip(cursor.count("orderComboLegs"))
        cursor.skip(2 * cursor.count("smartComboRoutingParams"))
    # "" (deprecated sharesAllocation), discretionaryAmt, goodAfterTime, goodTillDate,
    # faGroup, faMethod, faPercentage, then faProfile only before 177.
    cursor.skip(7 if version >= 177 else 8)
    cursor.skip(4)  # modelCode, shortSaleSlot, designatedLocation, exemptCode
    oca_type = int(cursor.take("ocaType") or 0)
    # rule80A .. volatilityType: settlingFirm, allOrNone, minQty, percentOffset, eTradeOnly,
    # firmQuoteOnly, nbboPriceCap, auctionStrategy, startingPrice, stockRefPrice, delta,
    # stockRangeLower/Upper, overridePercentageConstraints, volatility, volatilityType.
    cursor.skip(17)
    delta_neutral_type = cursor.take("deltaNeutralOrderType")
    cursor.skip(1)  # deltaNeutralAuxPrice
    if delta_neutral_type:
        cursor.skip(8)  # its conId, settling firm, clearing, open/close, short sale terms
    cursor.skip(2)  # continuousUpdate, referencePriceType
    trail_stop = _price(cursor.take("trailStopPrice"))
    trailing_percent = _price(cursor.take("trailingPercent"))
    cursor.skip(2)  # scaleInitLevelSize, scaleSubsLevelSize
    increment = _price(cursor.take("scalePriceIncrement"))
    if increment is not None and increment > 0:
        cursor.skip(7)  # the scale adjustments, profit offset, auto reset, init terms
    cursor.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if cursor.take("hedgeType"):
        cursor.skip(1)  # hedgeParam
    cursor.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if cursor.take("deltaNeutralContract") == "1":
        cursor.skip(3)  # its conId, delta, price
    if cursor.take("algoStrategy"):
        cursor.skip(2 * cursor.count("algoParams"))
    cursor.skip(6)  # algoId, whatIf, orderMiscOptions, solicited, randomizeSize/Price
    if order_type in ("PEG BENCH", "PEGBENCH"):
        cursor.skip(5)  # reference contract, pegged / reference change amounts, exchange
    conditions = cursor.count("conditions")
    for _ in range(conditions):
        kind = int(cursor.take())
        if kind not in _CONDITION_FIELDS:
            raise ValueError(f"placeOrder condition of type {kind}: not one ib_async writes")
        cursor.skip(_CONDITION_FIELDS[kind])
    if conditions:
        cursor.skip(2)  # conditionsIgnoreRth, conditionsCancelOrder
    cursor.skip(2)  # adjustedOrderType, triggerPrice
    limit_offset = _price(cursor.take("lmtPriceOffset"))
    _check_tail(version, cursor, contract_fields, order_type)
    return PlaceOrderRequest(
        order_id=order_id, contract_fields=contract_fields, action=action, quantity=quantity,
        order_type=order_type, limit_price=limit_price, aux_price=aux_price, tif=tif,
        oca_group=oca_group, account=account, order_ref=order_ref, transmit=transmit,
        parent_id=parent_id, oca_type=oca_type, trail_stop=trail_stop,
        trailing_percent=trailing_percent, limit_offset=limit_offset,
        positions=cursor.positions,
    )


def _check_tail(version: int, cursor: _Cursor, contract_fields: list[str],
                order_type: str) -> None:
    """What follows lmtPriceOffset is fixed but for the version: check that is all left.

    adjustedStopPrice .. usePriceMgmtAlgo are 16 fields, then one each from duration (158),
    postToAts (160), autoCancelParent (162), advancedErrorOverride (166) and
    manualOrderTime (169); from 170 a few more for IBKRATS and the pegged-to-best/mid types
    (those whose count depends on a value read there are not checked).
    """
    expected = 16 + sum(version >= v for v in (158, 160, 162, 166, 169))
    if version >= 170:
        expected += contract_fields[7] == "IBKRATS"
        if order_type in ("PEG MID", "PEGMID"):
            expected += 2
        elif order_type in ("PEG BEST", "PEGBEST"):
            return
    if cursor.left != expected:
        raise ValueError(f"placeOrder at version {version}: {cursor.left} fields after "
                         f"lmtPriceOffset (index {cursor.index - 1}), expected {expected}")
