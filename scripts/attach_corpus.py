#!/usr/bin/env python3
"""The attachment corpus of the evaluation (EVALUATION.md, "attachments"): the
bodies of a sample of a generated corpus's items, written into attachment
files of each format the extractor reads, so that detection *through an
attachment* is scored against the same planted truth as detection in a body.

    python3 scripts/attach_corpus.py --corpus corpus --out corpus-attach [--sample 120]

For each sampled item and each format (txt, csv in GB18030, html, docx with
every paragraph split into several runs, xlsx with one shared-string cell a
line, a zip holding the docx in a folder), it writes the file under
<out>/files/ and one input item (neutral title and body, the file as its
attachment) to <out>/items.jsonl; <out>/truth.jsonl lists, per input item,
the planted spans of the body that lie within one line (kind, text, decoy).
Standard library only; deterministic.
"""

import argparse
import csv
import io
import json
import os
import random
import zipfile
from xml.sax.saxutils import escape

FORMATS = ["txt", "csv", "html", "docx", "xlsx", "zip"]
DETECTION_KINDS = {"sensitive_term", "id_number", "mobile", "bank_card", "email", "credit_code",
                   "classification_marker", "passport", "address"}


def xml_text(s):
    # XML 1.0 forbids most control characters; the corpus has none but tabs.
    return escape("".join(c for c in s if c in "\t" or ord(c) >= 0x20))


def docx(lines, rng):
    body = []
    for line in lines:
        chars = list(line)
        cuts = sorted(rng.sample(range(1, len(chars)), min(2, max(len(chars) - 1, 0)))) if len(chars) > 2 else []
        runs, last = [], 0
        for cut in cuts + [len(chars)]:
            runs.append("".join(chars[last:cut]))
            last = cut
        body.append("<w:p>" + "".join(
            '<w:r><w:t xml:space="preserve">%s</w:t></w:r>' % xml_text(r) for r in runs if r) + "</w:p>")
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           + "".join(body) + "</w:body></w:document>")
    return package({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": doc,
    })


def xlsx(lines):
    strings = "".join('<si><t xml:space="preserve">%s</t></si>' % xml_text(l) for l in lines)
    rows = "".join('<row r="%d"><c r="A%d" t="s"><v>%d</v></c></row>' % (i + 1, i + 1, i) for i in range(len(lines)))
    return package({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="公示名单" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + rows + "</sheetData></worksheet>",
        "xl/sharedStrings.xml": '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
        % (len(lines), len(lines), strings),
    })


def package(parts):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text.encode("utf-8"),
                       compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def write_file(fmt, lines, rng):
    if fmt == "txt":
        return "\n".join(lines).encode("utf-8")
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        for i, line in enumerate(lines):
            w.writerow([i + 1, line])
        # Agencies still export GBK/GB18030; the extractor decodes it.
        return out.getvalue().encode("gb18030")
    if fmt == "html":
        return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>附件</title></head><body>"
                + "".join("<p>%s</p>" % escape(l) for l in lines) + "</body></html>").encode("utf-8")
    if fmt == "docx":
        return docx(lines, rng)
    if fmt == "xlsx":
        return xlsx(lines)
    if fmt == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo("材料/附件.docx", date_time=(2026, 1, 1, 0, 0, 0)), docx(lines, rng),
                       compress_type=zipfile.ZIP_DEFLATED)
        return buf.getvalue()
    raise ValueError(fmt)


def line_spans(body, spans):
    """Keeps the spans that lie within one line (the files hold lines)."""
    starts, pos = [], 0
    for line in body.split("\n"):
        starts.append((pos, pos + len(line.encode("utf-8"))))
        pos += len(line.encode("utf-8")) + 1
    kept, dropped = [], 0
    for s in spans:
        if any(a <= s["bstart"] and s["bend"] <= b for a, b in starts):
            kept.append(s)
        else:
            dropped += 1
    return kept, dropped


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="a folder written by make_corpus.py --format items")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sample", type=int, default=120, help="items taken from the corpus")
    args = ap.parse_args()
    items = {}
    with open(os.path.join(args.corpus, "items.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            items[d["id"]] = d
    spans = {}
    with open(os.path.join(args.corpus, "items.truth.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d.get("field") == "body" and d.get("kind") in DETECTION_KINDS and d.get("bstart") is not None:
                spans.setdefault(d["id"], []).append(d)
    rng = random.Random(18)
    ids = sorted(i for i in items if spans.get(i))
    sample = sorted(rng.sample(ids, min(args.sample, len(ids))))
    os.makedirs(os.path.join(args.out, "files"), exist_ok=True)
    dropped = 0
    with open(os.path.join(args.out, "items.jsonl"), "w") as items_out, \
            open(os.path.join(args.out, "truth.jsonl"), "w") as truth_out:
        for item_id in sample:
            body = items[item_id]["body"]
            kept, lost = line_spans(body, spans[item_id])
            dropped += lost
            lines = body.split("\n")
            for fmt in FORMATS:
                name = "附件.%s" % fmt
                rel = os.path.join("files", "%s.%s" % (item_id, fmt))
                with open(os.path.join(args.out, rel), "wb") as f:
                    f.write(write_file(fmt, lines, rng))
                check_id = "%s#%s" % (item_id, fmt)
                items_out.write(json.dumps({
                    "id": check_id, "title": "关于转发有关材料的通知", "body": "各有关单位：现将有关材料转发给你们，详见附件。",
                    "attachments": [{"name": name, "path": rel}],
                }, ensure_ascii=False) + "\n")
                truth_out.write(json.dumps({
                    "id": check_id, "format": fmt,
                    "spans": [{"kind": s["kind"], "text": s["text"], "decoy": s["decoy"], "evasion": s["evasion"]}
                              for s in kept],
                }, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump({"items": len(sample), "formats": FORMATS, "spans_across_lines_dropped": dropped}, f)


if __name__ == "__main__":
    main()
