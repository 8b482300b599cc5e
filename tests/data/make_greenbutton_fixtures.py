"""Write the small Green Button (ESPI) fixtures in this folder. Run once: ``python tests/data/make_greenbutton_fixtures.py``.

The outputs are committed; this script documents how they were made. All data is invented.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent


def feed(entries: list[str], espi_prefix: str = "espi") -> str:
    ns = f'xmlns:{espi_prefix}="http://naesb.org/espi"' if espi_prefix else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" {ns}>\n'
        "  <id>urn:uuid:test-feed</id>\n  <title>test feed</title>\n"
        + "".join(entries)
        + "</feed>\n"
    )


def entry(title: str, self_href: str, up: str | None, related: list[str], content: str) -> str:
    links = f'    <link rel="self" href="{self_href}"/>\n'
    if up:
        links += f'    <link rel="up" href="{up}"/>\n'
    links += "".join(f'    <link rel="related" href="{h}"/>\n' for h in related)
    return f"  <entry>\n{links}    <title>{title}</title>\n    <content>\n{content}    </content>\n  </entry>\n"


def usage_point(p: str, kind: int) -> str:
    return f"      <{p}UsagePoint><{p}ServiceCategory><{p}kind>{kind}</{p}kind></{p}ServiceCategory></{p}UsagePoint>\n"


def reading_type(p: str, uom: int, flow: int, mult: int, length: int) -> str:
    return (f"      <{p}ReadingType><{p}accumulationBehaviour>4</{p}accumulationBehaviour>"
            f"<{p}flowDirection>{flow}</{p}flowDirection><{p}intervalLength>{length}</{p}intervalLength>"
            f"<{p}kind>12</{p}kind><{p}powerOfTenMultiplier>{mult}</{p}powerOfTenMultiplier>"
            f"<{p}uom>{uom}</{p}uom></{p}ReadingType>\n")


def block(p: str, start: int, duration: int, values: list[int], cost: bool = False) -> str:
    readings = "".join(
        f"        <{p}IntervalReading>" + (f"<{p}cost>{v * 12}</{p}cost>" if cost else "")
        + f"<{p}timePeriod><{p}duration>{duration}</{p}duration><{p}start>{start + i * duration}</{p}start>"
        f"</{p}timePeriod><{p}value>{v}</{p}value></{p}IntervalReading>\n"
        for i, v in enumerate(values)
    )
    total = duration * len(values)
    return (f"      <{p}IntervalBlock><{p}interval><{p}duration>{total}</{p}duration><{p}start>{start}</{p}start>"
            f"</{p}interval>\n{readings}      </{p}IntervalBlock>\n")


def one_meter(p: str, title: str, base: str, flow: int, mult: int, blocks: list[str], uom: int = 72,
              kind: int = 0, length: int = 900) -> list[str]:
    """Entries for one UsagePoint with one MeterReading; IntervalBlocks first, to test that order is ignored."""
    up = f"{base}/UsagePoint/1"
    mr = f"{up}/MeterReading/1"
    rt = f"{base}/ReadingType/{title}"
    out = [entry("", f"{mr}/IntervalBlock/{i}", f"{mr}/IntervalBlock", [], b) for i, b in enumerate(blocks, 1)]
    out.append(entry(title, up, f"{base}/UsagePoint", [f"{up}/MeterReading"], usage_point(p, kind)))
    out.append(entry("reading", mr, f"{up}/MeterReading", [f"{mr}/IntervalBlock", rt],
                     f"      <{p}MeterReading/>\n"))
    out.append(entry("type", rt, f"{base}/ReadingType", [], reading_type(p, uom, flow, mult, length)))
    return out


def epoch(y: int, mo: int, d: int, h: int = 0, zone: str = "UTC") -> int:
    return int(datetime(y, mo, d, h, tzinfo=ZoneInfo(zone)).astimezone(UTC).timestamp())


def main() -> None:
    # 1. fall-back day: local 2024-11-03 in America/New_York has 25 hours = 100 quarter hours; values in 0.1 Wh
    start = epoch(2024, 11, 3, zone="America/New_York")
    assert epoch(2024, 11, 4, zone="America/New_York") - start == 100 * 900
    values = [10 * i + 5 for i in range(100)]
    (HERE / "gb_fallback_2024-11-03.xml").write_text(feed(one_meter(
        "espi:", "PV-FALL", "https://utility.example/espi/1_1/resource/RetailCustomer/7", 19, -1,
        [block("espi:", start, 900, values[:50]), block("espi:", start + 50 * 900, 900, values[50:])]),
        espi_prefix="espi"))

    # 2. month end: hourly 2024-01-31 20:00 UTC .. 2024-02-01 04:00 UTC, values in kWh (multiplier 3), prefix ns1
    start = epoch(2024, 1, 31, 20)
    (HERE / "gb_month_end.xml").write_text(feed(one_meter(
        "ns1:", "PV-ME", "/DataCustodian/RetailCustomer/2", 19, 3,
        [block("ns1:", start, 3600, [1, 2, 3, 4, 5, 6, 7, 8])], length=3600), espi_prefix="ns1"))

    # 3. net metering: one UsagePoint, delivered (1) and received (19) MeterReadings; ESPI as default namespace
    base = "RetailCustomer/9/UsagePoint/NET"
    start = epoch(2024, 6, 1, 12)
    p = ""
    espi = ' xmlns="http://naesb.org/espi"'
    up = entry("NET-1", base, "RetailCustomer/9/UsagePoint", [f"{base}/MeterReading"],
               f"      <UsagePoint{espi}><ServiceCategory><kind>0</kind></ServiceCategory></UsagePoint>\n")
    entries = [up]
    for n, (flow, vals) in enumerate([(1, [100, 200, 0, 50]), (19, [500, 100, 300, 50])], start=1):
        mr = f"{base}/MeterReading/{n}"
        rt = f"ReadingType/flow{flow}"
        entries.append(entry(f"flow {flow}", mr, f"{base}/MeterReading", [f"{mr}/IntervalBlock", rt],
                             f"      <MeterReading{espi}/>\n"))
        entries.append(entry("", rt, "ReadingType", [],
                             reading_type(p, 72, flow, 0, 900).replace("<ReadingType>", f"<ReadingType{espi}>", 1)))
        entries.append(entry("", f"{mr}/IntervalBlock/1", f"{mr}/IntervalBlock", [],
                             block(p, start, 900, vals).replace("<IntervalBlock>", f"<IntervalBlock{espi}>", 1)))
    (HERE / "gb_net_metering.xml").write_text(feed(entries[::-1], espi_prefix=""))

    # 4. a gas UsagePoint beside an electric one
    start = epoch(2024, 3, 1)
    entries = one_meter("espi:", "GAS-1", "/v1/User/5/gas", 1, -3, [block("espi:", start, 2592000, [41250])],
                        uom=169, kind=1, length=2592000)
    entries += one_meter("espi:", "E-1", "/v1/User/5/elec", 1, 0, [block("espi:", start, 3600, [700, 800],
                                                                             cost=True)], length=3600)
    (HERE / "gb_gas_and_electric.xml").write_text(feed(entries))

    # 5. hostile and broken files
    (HERE / "gb_billion_laughs.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
                  for i in range(1, 10))
        + ']>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title></feed>\n')
    (HERE / "gb_external_entity.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE feed [\n <!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>&x;</title></feed>\n')
    whole = (HERE / "gb_month_end.xml").read_text()
    (HERE / "gb_truncated.xml").write_text(whole[: len(whole) * 2 // 3])

    redacted_links()


#: The redacted-links file's values [Wh]: delivered (flowDirection 1) and received (19), two blocks of four
#: quarter hours each from 2024-06-01 12:00 UTC; the net (received - delivered) is 25,650 Wh.
REDACTED_DELIVERED = [[100, 200, 0, 50], [10, 20, 30, 40]]
REDACTED_RECEIVED = [[5000, 6000, 7000, 8000], [100, 0, 0, 0]]


def redacted_links() -> None:
    """6. A utility's net-metering file whose links were redacted (issue 17): both MeterReadings have the same
    ``self`` href, and their ``related`` link to the IntervalBlocks and the blocks' ``up`` and ``self`` hrefs
    are the same too, so only document order tells which blocks are delivered (1) and which received (19):
    each MeterReading is followed by its ReadingType and its two IntervalBlocks. The ReadingTypes' hrefs are
    distinct, as they are in the files that do this."""
    p = "espi:"
    base = "https://utility.example/DataCustodian/espi/1_1/resource/RetailCustomer/REDACTED/UsagePoint/REDACTED"
    mr = f"{base}/MeterReading/REDACTED"
    start = epoch(2024, 6, 1, 12)
    entries = [entry("PM-SUN1", base, base.rsplit("/", 1)[0], [f"{base}/MeterReading"], usage_point(p, 0))]
    for flow, values in ((1, REDACTED_DELIVERED), (19, REDACTED_RECEIVED)):
        rt = f"https://utility.example/DataCustodian/espi/1_1/resource/ReadingType/RT{flow}"
        entries.append(entry("", mr, f"{base}/MeterReading", [f"{mr}/IntervalBlock", rt],
                             f"      <{p}MeterReading/>\n"))
        entries.append(entry("", rt, rt.rsplit("/", 1)[0], [], reading_type(p, 72, flow, 0, 900)))
        for k, vals in enumerate(values):
            entries.append(entry("", f"{mr}/IntervalBlock/REDACTED", f"{mr}/IntervalBlock", [],
                                 block(p, start + k * 3600, 900, vals)))
    (HERE / "gb_redacted_links.xml").write_text(feed(entries))


if __name__ == "__main__":
    main()
