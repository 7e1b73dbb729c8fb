"""The gateway's outgoing messages, field by field, at server versions 157 and 178.

Each function returns the fields of one message (message id first). The layouts are
those ib_async 2.1.0's decoder reads; where they differ by server version the branch
names the version that changed them (164: contract details lost mdSizeMultiplier and
their version field and gained size increments; 166: errors carry an advanced-reject
JSON; 177: openOrder lost faProfile; 178: execDetails carry pendingPriceRevision).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.fakes.tws.model import ContractSpec, FakeExecution, FakeOrder
from tests.fakes.tws.wire import Field

__all__ = (
    "commission_report",
    "completed_order",
    "contract_details",
    "contract_details_end",
    "error",
    "exec_details",
    "exec_details_end",
    "historical_data",
    "ib_time",
    "open_order",
    "order_status",
    "position",
    "realtime_bar",
    "tick_price",
    "tick_size",
)


def ib_time(time_s: int) -> str:
    """An execution time as TWS writes it with an explicit zone ("20261202 14:30:00 UTC")."""
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y%m%d %H:%M:%S") + " UTC"


def _contract_short(spec: ContractSpec) -> list[Field]:
    """conId .. tradingClass as execDetails, openOrder and position carry them."""
    return [spec.con_id, spec.symbol, spec.sec_type, spec.last_trade_date, 0.0, "",
            spec.multiplier, spec.exchange, spec.currency, spec.local_symbol,
            spec.trading_class]


def contract_details(version: int, req_id: int, spec: ContractSpec) -> list[Field]:
    head: list[Field] = [10] + ([8] if version < 164 else [])
    fields = head + [
        req_id, spec.symbol, spec.sec_type, spec.last_trade_date, 0.0, "", spec.exchange,
        spec.currency, spec.local_symbol, spec.trading_class, spec.trading_class,
        spec.con_id, spec.min_tick,
    ]
    if version < 164:
        fields.append(1)  # mdSizeMultiplier
    fields += [
        spec.multiplier, "ACTIVETIM,LMT,MKT,STP,STPLMT", spec.exchange, 1, 0,
        spec.long_name, spec.primary_exchange, spec.last_trade_date[:6], "", "", "",
        spec.time_zone, spec.trading_hours, spec.liquid_hours, "", "",
        0,  # no secIds
        1, "", "", "26", spec.last_trade_date, "COMMON",
    ]
    if version >= 164:
        fields += [spec.min_size, spec.size_increment, spec.size_increment]
    return fields


def contract_details_end(req_id: int) -> list[Field]:
    return [52, 1, req_id]


def tick_price(req_id: int, tick_type: int, price: Decimal | float, size: Decimal | float
               ) -> list[Field]:
    """Exactly 7 fields: ib_async drops any other count without a word."""
    return [1, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: Decimal | float) -> list[Field]:
    return [2, 6, req_id, tick_type, size]


def realtime_bar(req_id: int, time_s: int, bar: tuple[float, float, float, float, float]
                 ) -> list[Field]:
    open_, high, low, close, volume = bar
    return [50, 3, req_id, time_s, open_, high, low, close, volume, close, 1]


def historical_data(req_id: int, bars: list[tuple[int, float, float, float, float, float]]
                    ) -> list[Field]:
    """Bars stamped in epoch seconds (formatDate=2), each with a WAP and a count."""
    fields: list[Field] = [17, req_id, "", "", len(bars)]
    for time_s, open_, high, low, close, volume in bars:
        fields += [str(time_s), open_, high, low, close, volume, close, 1]
    return fields


def error(version: int, req_id: int, code: int, text: str) -> list[Field]:
    fields: list[Field] = [4, 2, req_id, code, text]
    if version >= 166:
        fields.append("")
    return fields


def order_status(order: FakeOrder, last_price: Decimal | None = None) -> list[Field]:
    """orderStatus, carrying the client id of the connection that placed the order."""
    return [3, order.order_id, order.status, order.filled, order.remaining,
            order.average_price, order.perm_id, order.parent_id, last_price or 0,
            order.client_id, "", 0]


def _price(value: Decimal | None) -> Field:
    return "" if value is None else value


def open_order(version: int, order: FakeOrder) -> list[Field]:
    """openOrder: the order's terms and state, in the 2.1.0 decoder's field order.

    The decoder reads trailStopPrice twice (after referencePriceType, then again after
    triggerPrice, which wins): both carry the order's current trailing stop.
    """
    fields: list[Field] = [5, order.order_id, *_contract_short(order.contract)]
    fields += [
        order.action, order.quantity, order.order_type, _price(order.limit_price),
        _price(order.aux_price), order.tif, order.oca_group, order.account, "O", 0,
        order.order_ref, order.client_id, order.perm_id, 0, 0, 0, "", "", "", "", "",
    ]
    if version < 177:
        fields.append("")  # faProfile
    fields += [
        "", "", "", "", "", 0, "", 0, 0, "", "", "", "", "", 0, 0, 0, 0, "",  # .. minQty
        order.effective_oca_type, 0, 0, "",  # ocaType, eTradeOnly, firmQuoteOnly, nbbo cap
        order.parent_id, 0, "", 0, "", "",  # triggerMethod, volatility, type, dnOrderType/aux
        0, 0, _price(order.trail_stop), _price(order.trailing_percent),  # continuousUpdate ..
        "", "", "",  # basisPoints, basisPointsType, comboLegsDescrip
        0, 0, 0,  # combo legs, order combo legs, smart combo params
        "", "", "",  # scale init/subs level size, price increment
        "",  # hedgeType
        0, "", "", 0, 0,  # optOutSmartRouting, clearing account/intent, notHeld, no dnc
        "",  # algoStrategy
        0, 0, order.status, "", "", "", "", "", "", "", "", "", "", "", "", "", "", 0, 0,
        0,  # conditions
        "", "", _price(order.trail_stop), _price(order.limit_offset),  # adjustedOrderType ..
        "", "", "", 0, "", "", "", "", 0, 0, "", 0,  # adjustedStopPrice .. usePriceMgmtAlgo
    ]
    if version >= 159:
        fields.append("")  # duration
    if version >= 160:
        fields.append("")  # postToAts
    if version >= 162:
        fields.append(0)  # autoCancelParent
    if version >= 170:
        fields += ["", "", "", "", ""]
    return fields


def completed_order(version: int, order: FakeOrder) -> list[Field]:
    """completedOrder: a closed order's terms and final status (no order id: IB keys
    completed orders by permId, and an attached child's parent by parentPermId)."""
    fields: list[Field] = [101, *_contract_short(order.contract)]
    fields += [
        order.action, order.quantity, order.order_type, _price(order.limit_price),
        _price(order.aux_price), order.tif, order.oca_group, order.account, "O", 0,
        order.order_ref, order.perm_id, 0, 0, 0, "", "", "", "",
    ]
    if version < 177:
        fields.append("")  # faProfile
    fields += [
        "", "", "", "", "", 0, "", 0, "", "", "", "", "", 0, 0, 0, "",  # modelCode .. minQty
        order.effective_oca_type, 0, "", 0, "", "",  # ocaType .. deltaNeutralAuxPrice
        0, 0, _price(order.trail_stop), _price(order.trailing_percent),  # continuousUpdate ..
        "",  # comboLegsDescrip
        0, 0, 0,  # combo legs, order combo legs, smart combo params
        "", "", "",  # scale init/subs level size, price increment
        "",  # hedgeType
        "", "", 0, 0,  # clearing account/intent, notHeld, no dnc
        "",  # algoStrategy
        0, order.status, 0, 0,
        0,  # conditions
        _price(order.trail_stop), _price(order.limit_offset), "", 0, 0, "", order.filled,
        0, 0, "", 0, 0, order.parent_perm_id, "", order.status,  # .. parentPermId, status
    ]
    if version >= 170:
        fields += ["", "", "", "", ""]
    return fields


def exec_details(version: int, req_id: int, execution: FakeExecution, account: str
                 ) -> list[Field]:
    order = execution.order
    fields: list[Field] = [
        11, req_id, order.order_id, *_contract_short(order.contract), execution.exec_id,
        ib_time(execution.time_s), account, order.contract.exchange,
        "BOT" if order.action == "BUY" else "SLD", execution.shares, execution.price,
        order.perm_id, order.client_id, 0, execution.cumulative, execution.average,
        order.order_ref, "", "", "", execution.liquidity,
    ]
    if version >= 178:
        fields.append(0)
    return fields


def exec_details_end(req_id: int) -> list[Field]:
    return [55, 1, req_id]


def commission_report(execution: FakeExecution) -> list[Field]:
    return [59, 1, execution.exec_id, execution.commission,
            execution.order.contract.currency, "", "", ""]


def position(account: str, spec: ContractSpec, quantity: Decimal, average_cost: Decimal
             ) -> list[Field]:
    return [61, 3, account, *_contract_short(spec), quantity, average_cost]
