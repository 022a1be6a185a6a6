"""FILE-01 / ING-12: a generator of ≥150 hostile or malformed uploads (small variants, T1).

Every file must be rejected with a coded error within 10 s, nothing may be written to the
store, and nothing may appear outside (or inside) the upload directory.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from parkcarbon.errors import ParkcarbonError
from parkcarbon.ingest.safety import UploadLimits, assert_defusedxml_active, check_upload
from parkcarbon.ingest.templates import template_bytes
from parkcarbon.settings import Settings

LIMITS = dict(upload_max_bytes=1_000_000, upload_max_uncompressed_bytes=2_000_000,
              upload_max_compression_ratio=100.0, upload_max_rows=5_000, upload_max_columns=50,
              upload_max_field_bytes=64 * 1024)


def _valid_xlsx() -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(template_bytes("monthly")))
    ws = wb["月度能源统计"]
    ws.append(["精锻公司", "2025-03", "电力", "kWh", 1000, None, None, None, None, None, None])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BASE = _valid_xlsx()


def _rezip(replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
           drop: tuple[str, ...] = (), level: int = zipfile.ZIP_DEFLATED) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(BASE))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=level) as z:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = (replace or {}).get(info.filename, src.read(info.filename))
            z.writestr(info.filename, data)
        missing = {k: v for k, v in (replace or {}).items() if k not in src.namelist()}
        for name, data in {**missing, **(add or {})}.items():
            z.writestr(name, data)
    return out.getvalue()


_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
                      for i in range(1, 10))
           + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
           b"<si><t>&lol9;</t></si></sst>")
_QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
              b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
              + b"&a;" * 2000 + b"</t></si></sst>")
_XXE = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&e;</t></si></sst>')
_SHEET = "xl/worksheets/sheet1.xml"
_SST = "xl/sharedStrings.xml"
_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _sparse_sheet(dim: str, cell: str) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + _NS + b'><dimension ref="' + dim.encode()
            + b'"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>qiye</t></is></c></row><row r="'
            + cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").encode() + b'"><c r="' + cell.encode()
            + b'"><v>1</v></c></row></sheetData></worksheet>')


def _xlsx_rows(header: str, rows: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "月度能源统计"
    ws.append(header.strip().split(","))
    for line in rows.split("\n"):
        ws.append([_cell(v) for v in line.split(",")])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(v: str) -> object:
    try:
        return float(v) if v and v not in ("nan", "inf") else (v or None)
    except ValueError:
        return v


def _cases() -> list[tuple[str, str, bytes]]:
    """(case id, file name, bytes): every one must be rejected."""
    c: list[tuple[str, str, bytes]] = []
    # (a) zip bombs: highly compressible members, measured by streaming, several members/sizes
    for i, size in enumerate((300_000, 600_000, 1_200_000, 2_500_000, 5_000_000)):
        c.append((f"bomb-ratio-{i}", "bomb.xlsx", _rezip(replace={_SHEET: b"<" + b"A" * size})))
        c.append((f"bomb-extra-{i}", "bomb.xlsx", _rezip(add={f"xl/media/pad{i}.bin": b"\0" * size})))
        c.append((f"bomb-sst-{i}", "bomb.xlsx", _rezip(replace={_SST: b"<sst>" + b" " * size + b"</sst>"})))
    for i in range(5):
        many = {f"xl/media/p{j}.bin": b"\0" * 400_000 for j in range(6 + i)}
        c.append((f"bomb-total-{i}", "bomb.xlsx", _rezip(add=many, level=zipfile.ZIP_DEFLATED)))
    # (b, c) DTDs: billion laughs, quadratic blow-up, XXE, in several parts and encodings
    for part in (_SST, _SHEET, "xl/workbook.xml", "[Content_Types].xml", "xl/styles.xml", "docProps/core.xml"):
        for tag, doc in (("laughs", _LAUGHS), ("quadratic", _QUADRATIC[:60_000]), ("xxe", _XXE)):
            c.append((f"dtd-{tag}-{part}", "x.xlsx", _rezip(replace={part: doc})))
        c.append((f"dtd-utf16-{part}", "x.xlsx", _rezip(replace={part: _XXE.decode().replace(
            'version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16")})))
    # (d) macros and wrong content
    c.append(("xlsm-name", "report.xlsm", BASE))
    c.append(("xltm-name", "report.xltm", BASE))
    for i in range(3):
        c.append((f"vba-{i}", "report.xlsx", _rezip(add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(i)})))
    c.append(("macrosheet", "report.xlsx", _rezip(add={"xl/macrosheets/sheet1.xml": b"<x/>"})))
    for magic, tag in ((b"MZ\x90\x00", "exe"), (b"\x7fELF\x02", "elf"), (b"%PDF-1.7", "pdf"),
                       (b"\x89PNG\r\n", "png"), (b"<html>", "html"), (b"Rar!\x1a\x07", "rar")):
        c.append((f"renamed-{tag}-xlsx", "renamed.xlsx", magic + b"\0" * 2000))
    c.append(("exe-as-csv", "renamed.csv", b"MZ\x90\x00" + b"\0" * 200))
    c.append(("zip-as-csv", "renamed.csv", BASE))
    # (e) file names
    for name in ("../evil.xlsx", "..\\evil.xlsx", "/etc/passwd.csv", "a/b.csv", "C:\\x\\y.csv", "ok\x00.csv",
                 "x" * 300 + ".csv", "report.exe.xlsx", "report.php.csv", "data.xlsm.xlsx", "evil.csv.exe",
                 "evil.bat", "evil", ".csv.", "tab\tname.csv", "nl\nname.csv", "..", "data.xls", "data.xlsb",
                 "data.ods", "data.json", "data.parquet.csv", "%2e%2e/evil.csv", "．．／evil.csv"):
        c.append((f"name-{name[:20]!r}", name, b"a,b\n1,2\n"))
    # (f) oversized CSV (the limit is checked on the bytes as sent)
    for i, n in enumerate((1_000_001, 1_500_000, 3_000_000)):
        c.append((f"csv-big-{i}", "big.csv", b"a" * n))
    # (g) CSV with a huge single field
    for i, n in enumerate((70_000, 200_000, 900_000)):
        c.append((f"csv-field-{i}", "field.csv", "企业,月份\n".encode() + b'"' + b"x" * n + b'",2025-03\n'))
    # (h) huge / sparse sheets (declared and actual)
    for i, (dim, cell) in enumerate((("A1:XFD1048576", "XFD1048576"), ("A1:XFD2", "XFD2"), ("A1:A1048576", "A1048576"),
                                     ("A1:AZ1", "AZ1"), ("A1:B9999", "B9999"))):
        c.append((f"sparse-{i}", "sparse.xlsx", _rezip(replace={_SHEET: _sparse_sheet(dim, cell)})))
    # (i) encrypted workbooks: OLE2 container, zip with the encryption flag
    for i in range(3):
        c.append((f"ole2-{i}", "secret.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes([i]) * 4000))
    enc = bytearray(BASE)
    pos = enc.find(b"PK\x03\x04")
    enc[pos + 6] |= 0x1
    cd = enc.find(b"PK\x01\x02")
    while cd != -1:
        enc[cd + 8] |= 0x1
        cd = enc.find(b"PK\x01\x02", cd + 4)
    c.append(("zip-encrypted-flag", "secret.xlsx", bytes(enc)))
    # malformed containers
    c.append(("empty-xlsx", "e.xlsx", b""))
    c.append(("empty-csv", "e.csv", b""))
    for i, cut in enumerate((10, 100, len(BASE) // 2, len(BASE) - 30)):
        c.append((f"truncated-{i}", "t.xlsx", BASE[:cut]))
    c.append(("no-content-types", "n.xlsx", _rezip(drop=("[Content_Types].xml",))))
    c.append(("no-sheet", "n.xlsx", _rezip(drop=(_SHEET,))))
    c.append(("broken-sheet-xml", "n.xlsx", _rezip(replace={_SHEET: b"<worksheet><sheetData><row>"})))
    c.append(("path-in-zip", "n.xlsx", _rezip(add={"../../evil.txt": b"x"})))
    c.append(("abs-in-zip", "n.xlsx", _rezip(add={"/etc/evil.txt": b"x"})))
    c.append(("csv-nul", "nul.csv", "企业,月份\n精锻\x00公司,2025-03\n".encode()))
    c.append(("csv-not-text", "bin.csv", bytes(range(256)) * 10))
    # (ING-12) malformed statistics: wrong headers and bad values, in CSV and XLSX
    hdr = "企业,月份,能源品种,计量单位,购进量,消费量,其中：非能源用途,外供量,自产量\n"
    bad_rows = [
        "精锻公司,2025-13,电力,kWh,1,,,,", "精锻公司,2025-03,电力,kWh,-5,,,,", "精锻公司,2025-03,电力,kWh,abc,,,,",
        "精锻公司,2025-03,电力,furlong,1,,,,", "精锻公司,2025-03,煤气罐,t,1,,,,", "精锻公司,2025-03,电力,t,1,,,,",
        "精锻公司,,电力,kWh,1,,,,", ",2025-03,电力,kWh,1,,,,", "精锻公司,2025-03,,kWh,1,,,,", "精锻公司,2025-03,电力,,1,,,,",
        "精锻公司,2025-03,电力,kWh,,,,,", "精锻公司,2025-03,原煤,t,,5,9,,", "无名公司,2025-03,电力,kWh,1,,,,",
        "精锻公司,2025-03,电力,kWh,nan,,,,", "精锻公司,2025-03,电力,kWh,inf,,,,", "精锻公司,CST,电力,kWh,1,,,,",
        "精锻公司,2025-03,电力,kWh,1,,,,\n精锻公司,2025-03,电力,kWh,2,,,,", "精锻公司,1899-01,电力,kWh,1,,,,",
        "精锻公司,2025-03,柴油,L,100,,,,", "精锻公司,2025-03,蒸汽,GJ,100,,,,",
    ]
    for i, row in enumerate(bad_rows):
        c.append((f"stat-bad-{i}", "bad.csv", (hdr + "精锻公司,2025-02,电力,kWh,1,,,,\n" + row + "\n").encode()))
    for i, row in enumerate(bad_rows):
        c.append((f"stat-bad-xlsx-{i}", "bad.xlsx", _xlsx_rows(hdr, row)))
    for i, header in enumerate(("foo,bar\n1,2\n", "企业,月份,月份,能源品种,计量单位,购进量\n", "能源品种,计量单位,购进量\n",
                                "企业,月份,能源品种,计量单位,购进量,未知列\n", "\n\n\n", hdr,
                                "企业,月份,能源品种,计量单位,购进量\n精锻公司,2025-03,电力,kWh,1,extra\n")):
        c.append((f"stat-header-{i}", "hdr.csv", header.encode()))
    return c


CASES = _cases()


def test_generator_size():
    assert len(CASES) >= 150


def test_defusedxml_is_active():
    """openpyxl parses XML through defusedxml (assertion required by FILE-01)."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True
    assert_defusedxml_active()


@pytest.fixture(scope="module")
def hostile_env(tmp_path_factory):
    from parkcarbon.storage import open_store

    root = tmp_path_factory.mktemp("hostile")
    settings = Settings(data_dir=root / "data", **LIMITS)
    st = open_store(f"sqlite:///{root / 'store.sqlite'}", settings=settings)
    with st.transaction() as repo:
        p = repo.add_park(code="P", name="p")
        repo.add_enterprise(name="精锻公司", park_id=p.id, enterprise_id="E01")
    yield st, settings, root
    st.dispose()


def _counts(st) -> tuple[int, ...]:
    from sqlalchemy import func, select

    from parkcarbon.storage.models import ActivityRecordRow, IngestBatch, Meter, ProductionRecord

    with st.session(write=False) as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in
                     (ActivityRecordRow, IngestBatch, ProductionRecord, Meter))


@pytest.mark.parametrize(("case", "name", "data"), CASES, ids=[c[0] for c in CASES])
def test_hostile_file_rejected(hostile_env, case, name, data):
    from parkcarbon.services.ingestion import import_statistics

    st, settings, root = hostile_env
    before = _counts(st)
    files_before = sorted(p.relative_to(root) for p in root.rglob("*"))
    t0 = time.monotonic()
    with pytest.raises(ParkcarbonError) as exc:
        import_statistics(st, data, name, "monthly", uploader="t", settings=settings)
    assert time.monotonic() - t0 < 10
    assert exc.value.code.startswith("E-")
    assert exc.value.code != "E-PARKCARBON"
    assert _counts(st) == before  # no partial write
    files_after = sorted(p.relative_to(root) for p in root.rglob("*") if not p.name.startswith("store.sqlite"))
    assert [f for f in files_after if f not in files_before] == []  # nothing written anywhere
    assert not (root.parent / "evil.xlsx").exists() and not Path("evil.txt").exists()


def test_valid_base_file_is_accepted(hostile_env):
    """Control: the unmodified base workbook passes, so the rejections above are for the mutations."""
    from parkcarbon.services.ingestion import import_statistics

    st, settings, _root = hostile_env
    res = import_statistics(st, BASE, "2025-03 月报.xlsx", "monthly", uploader="t", settings=settings)
    assert res.records_written == 1
    stored = settings.upload_dir / str(res.stored_name)
    assert stored.exists() and stored.parent == settings.upload_dir
    assert len(stored.stem) == 32 and "月报" not in stored.name  # server-generated name


def test_streaming_counts_not_announced_sizes():
    """A member whose header lies about its size is still measured by decompressing it."""
    lying = bytearray(_rezip(replace={_SHEET: b"<" + b"A" * 3_000_000}))
    cd = lying.find(b"PK\x01\x02")
    while cd != -1:  # claim every member is tiny in the central directory
        lying[cd + 24:cd + 28] = (10).to_bytes(4, "little")
        cd = lying.find(b"PK\x01\x02", cd + 4)
    with pytest.raises(ParkcarbonError) as exc:
        check_upload("lie.xlsx", bytes(lying), UploadLimits(max_uncompressed_bytes=2_000_000, max_ratio=1e9))
    assert exc.value.code in ("E-UPLOAD-ZIPBOMB", "E-UPLOAD-CORRUPT")
