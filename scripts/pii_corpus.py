#!/usr/bin/env python3
"""The project's own corpus for the personal data that 公示 lists, 行政处罚决定,
信访 replies and subsidy rosters leak beyond the shared generator: passport and
permit numbers, a person's home address, first-generation 15-digit IDs, IDs
grouped or broken across a line, +86/0086 mobiles, disguised mailboxes — each
with the decoys that make them hard (an organ's, a company's or a site's
address; a contract number whose "date" has month 13; a passport-shaped
批复编号; digits inside a longer order number; numbers already masked).

    python3 scripts/pii_corpus.py --out corpus-pii [--items 400] [--seed 20]

Writes items.jsonl and items.truth.jsonl in the shared contract's format
(../shared/eval/README.md), so ../shared/eval/score.py scores it. Standard
library only; the same options always give byte-identical files.

The vocabulary (places, streets, names, organs, templates) is this file's own,
written from the rules (labels, the subject of the sentence, table headers,
area codes, dates, number formats) and not from the shared dev cases; which
template and which decoy an item gets is random per seed, so a detector tuned
to a handful of strings would fail here.
"""

import argparse
import json
import os
import random

ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_C = "10X98765432"

AREAS = ["110105", "310104", "320583", "330106", "340102", "370203", "420111", "430104", "510107", "610113",
         "440305", "350203", "210102", "130102", "410105", "500103"]
PROVINCES = ["江南省", "河西省", "东川省"]
CITIES = ["临川市", "青溪市", "北塘市", "安平市", "云台市"]
DISTRICTS = ["东城区", "西湖区", "北关区", "南河区", "青山县", "安远县", "开发区"]
TOWNS = ["柳林镇", "石门镇", "双桥街道", "城南街道", "白沙乡"]
ROADS = ["建设路", "解放大道", "人民北路", "朝阳街", "和平巷", "文昌路", "新华路", "中山南路"]
ESTATES = ["锦绣花园", "阳光小区", "翠湖苑", "幸福里", "金桥新村"]
VILLAGES = ["柳林村", "石门村", "李家庄", "河湾村"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建国", "秀英", "志强", "海燕", "立新", "桂芳", "明", "伟", "丽华", "德胜"]
ORGANS = ["{city}{district}民政局", "{city}人力资源和社会保障局", "{city}{district}人民政府办公室",
          "{city}外事办公室", "{city}{district}市场监督管理局", "{district}{town}人民政府"]
COMPANIES = ["{city}宏远商贸有限公司", "{city}鑫达建材厂", "{city}绿源农业专业合作社", "{city}恒通物流有限公司"]
COUNTRIES = ["日本", "新加坡", "德国", "法国", "泰国", "澳大利亚", "香港特别行政区", "澳门特别行政区"]
PURPOSES = ["参加经贸洽谈会", "开展友好城市交流", "考察职业教育", "参加国际学术会议", "开展招商推介"]
TITLES = ["副局长", "科长", "主任科员", "副主任", "办公室主任", "一级主任科员"]
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class Body:
    """Text built piece by piece, with truth spans in UTF-8 bytes."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.spans = []

    def add(self, text):
        self.parts.append(text)
        self.size += len(text.encode())

    def mark(self, text, kind, severity=None, decoy=False, reason=None):
        start = self.size
        self.add(text)
        span = {"kind": kind, "severity": severity, "bstart": start, "bend": self.size, "text": text,
                "decoy": decoy, "evasion": None}
        if reason:
            span["reason"] = reason
        self.spans.append(span)

    def text(self):
        return "".join(self.parts)


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def pick(self, xs):
        return self.r.choice(xs)

    def digits(self, n):
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def name(self, masked_given=True):
        s = self.pick(SURNAMES)
        return s + (self.pick(["某", "某某"]) if masked_given else self.pick(GIVEN))

    def place(self):
        return {"city": self.pick(CITIES), "district": self.pick(DISTRICTS), "town": self.pick(TOWNS)}

    def organ(self):
        return self.pick(ORGANS).format(**self.place())

    def company(self):
        return self.pick(COMPANIES).format(**self.place())

    def date(self):
        y = self.r.randint(1950, 2002)
        m = self.r.randint(1, 12)
        d = self.r.randint(1, 28)
        return y, m, d

    def id18(self):
        y, m, d = self.date()
        first = "%s%04d%02d%02d%s" % (self.pick(AREAS), y, m, d, self.digits(3))
        return first + ID_C[sum(int(a) * b for a, b in zip(first, ID_W)) % 11]

    def id15(self):
        y, m, d = self.date()
        return "%s%02d%02d%02d%s" % (self.pick(AREAS), y % 100, m, d, self.digits(3))

    def mobile(self):
        return self.pick(["139", "138", "186", "151", "177", "199", "135", "187"]) + self.digits(8)

    def house(self):
        """A home address down to the house: (text, has a province)."""
        p = self.place()
        head = (self.pick(PROVINCES) if self.r.random() < 0.3 else "") + p["city"] + p["district"]
        form = self.r.randrange(4)
        if form == 0:
            tail = "%s%d号%d栋%d单元%d室" % (self.pick(ROADS), self.r.randint(1, 300), self.r.randint(1, 30),
                                        self.r.randint(1, 6), self.r.randint(101, 2806))
        elif form == 1:
            tail = "%s%s%d幢%d室" % (self.pick(ROADS), self.pick(ESTATES), self.r.randint(1, 40), self.r.randint(101, 1804))
        elif form == 2:
            tail = "%s%s%s组%d号" % (p["town"], self.pick(VILLAGES), self.pick("一二三四五六七八") , self.r.randint(1, 90))
        else:
            tail = "%s%d号" % (self.pick(ROADS), self.r.randint(1, 500))
        return head + tail

    def office_address(self):
        p = self.place()
        return "%s%s%s%d号" % (p["city"], p["district"], self.pick(ROADS), self.r.randint(1, 200))

    def passport(self):
        """(label, number) of a real format."""
        kind = self.r.randrange(9)
        if kind == 0:
            return self.pick(["护照号码：", "护照号：", "因公护照号码", "普通护照号码为"]), "E" + self.digits(8)
        if kind == 1:
            return self.pick(["护照号码：", "持普通护照，号码"]), "E" + self.pick(SERIAL) + self.digits(7)
        if kind == 2:
            return "护照号码：", self.pick(["G", "S", "K"]) + self.digits(8)
        if kind == 3:
            return self.pick(["公务护照号码：", "因公护照号"]), self.pick(["SE", "PE", "DE"]) + self.digits(7)
        if kind == 4:
            return self.pick(["港澳居民来往内地通行证号码：", "回乡证号码："]), self.pick("HM") + self.digits(self.pick([8, 10]))
        if kind == 5:
            return self.pick(["台湾居民来往大陆通行证号码：", "台胞证号："]), self.digits(8)
        if kind == 6:
            return self.pick(["往来港澳通行证号码：", "往来港澳通行证号"]), "C" + self.digits(8)
        if kind == 7:
            return "往来港澳通行证：", "C" + self.pick(SERIAL) + self.digits(7)
        return "大陆居民往来台湾通行证号码：", "L" + self.digits(8)


def signed(item_id, title, body, kind="notice"):
    return {"id": item_id, "title": title, "body": body, "kind": kind, "attribute": "public",
            "attribute_reason": None, "doc_number": None, "issuer": None, "channels": ["website"],
            "superior": None, "signoff": {"name": "周立明", "title": "办公室主任", "statement_accepted": True}}


# --- templates: each writes into a Body and returns a title -----------------------------------

def visit_prose(g, b):
    b.add("根据因公临时出国（境）管理有关规定，现将%s出访人员信息公示如下：\n" % g.organ())
    for _ in range(g.r.randint(1, 3)):
        label, number = g.passport()
        b.add("%s，%s%s，%s" % (g.name(), g.pick(["我局", "市政府办公室", "区商务局"]), g.pick(TITLES), label))
        b.mark(number, "passport", "block")
        b.add("，赴%s%s。\n" % (g.pick(COUNTRIES), g.pick(PURPOSES)))
    decoy = g.r.randrange(3)
    if decoy == 0:
        b.add("出访批件号：")
        b.mark(g.pick(["G", "E"]) + "2025%04d" % g.r.randint(1, 1231), "passport", decoy=True, reason="批件号, labelled as one")
        b.add("。")
    elif decoy == 1:
        b.add("本次出访经%s批复（批复编号" % g.organ())
        b.mark("E" + g.digits(8), "passport", decoy=True, reason="a passport-shaped 批复编号")
        b.add("），团组护照由外办统一保管。")
    else:
        b.add("已办理护照的人员，护照号码已脱敏：")
        b.mark("E" + g.digits(3) + "*****", "passport", decoy=True, reason="already masked")
        b.add("。")
    b.add("\n公示期5个工作日。")
    return "因公临时出国（境）人员信息公示"


def visit_table(g, b):
    sep = g.pick(["\t", "  "])
    if g.r.random() < 0.25:
        return visit_table_typed(g, b, sep)
    header = g.pick(["护照号码", "护照号", "证件号码（护照）"]) if g.r.random() < 0.8 else "往来港澳通行证号码"
    b.add("附件：出访人员名单\n" + sep.join(["序号", "姓名", "职务", header, "出访地"]) + "\n")
    for i in range(g.r.randint(2, 5)):
        if header == "往来港澳通行证号码":
            number = "C" + g.digits(8)
        else:
            number = g.pick(["E" + g.digits(8), "E" + g.pick(SERIAL) + g.digits(7), "G" + g.digits(8)])
        b.add(sep.join([str(i + 1), g.name(), g.pick(TITLES), ""]))
        b.mark(number, "passport", "block")
        b.add(sep + g.pick(COUNTRIES) + "\n")
    b.add("任务批件号：")
    b.mark("G2025%04d" % g.r.randint(1, 1231), "passport", decoy=True, reason="a task number, labelled as one")
    b.add("。")
    return "关于%s出访人员名单的公示" % g.pick(["2025年第二批", "经贸代表团", "考察团"])


def visit_table_typed(g, b, sep):
    """A 证件类型 column names the document of each row's 证件号码."""
    b.add(sep.join(["序号", "姓名", "证件类型", "证件号码", "出访地"]) + "\n")
    for i in range(g.r.randint(2, 5)):
        doc = g.pick(["护照", "往来港澳通行证", "因公护照"])
        number = "C" + g.digits(8) if doc == "往来港澳通行证" else "E" + g.pick(SERIAL) + g.digits(7)
        b.add(sep.join([str(i + 1), g.name(), doc, ""]))
        b.mark(number, "passport", "block")
        b.add(sep + g.pick(COUNTRIES) + "\n")
    b.add("团组批件号：")
    b.mark("E2025%04d" % g.r.randint(1, 1231), "passport", decoy=True, reason="a delegation's approval number")
    b.add("。")
    return "出访团组人员证件信息公示"


def roster_prose(g, b):
    b.add("经%s审核，以下家庭符合城乡最低生活保障条件，现予公示：\n" % g.organ())
    for _ in range(g.r.randint(1, 3)):
        label = g.pick(["家庭住址：", "现住址：", "户籍地址：", "住址：", "居住地址：", "家住"])
        b.add("户主：%s，" % g.name())
        if g.r.random() < 0.4:
            b.add("身份证号：")
            b.mark(g.id15(), "id_number", "block")
            b.add("，")
        b.add(label)
        b.mark(g.house(), "address", "block")
        b.add("，保障人数%d人。\n" % g.r.randint(1, 5))
    organ = g.organ()
    b.add("监督电话：0%d-8%s（%s，地址：" % (g.r.randint(510, 599), g.digits(7), organ))
    b.mark(g.office_address(), "address", decoy=True, reason="the organ's own address")
    b.add("）。")
    return "城乡低保对象审核结果公示"


def roster_table(g, b):
    sep = g.pick(["\t", "  "])
    col = g.pick(["家庭住址", "住址", "现住址", "户籍地址", "地址"])
    b.add(sep.join(["序号", "姓名", col, "保障人数", "月保障金（元）"]) + "\n")
    for i in range(g.r.randint(2, 6)):
        b.add(sep.join([str(i + 1), g.name(), ""]))
        b.mark(g.house(), "address", "block")
        b.add(sep + "%d" % g.r.randint(1, 5) + sep + "%d" % g.r.randint(300, 1800) + "\n")
    b.add("\n受理单位地址：")
    b.mark(g.office_address(), "address", decoy=True, reason="an office's address")
    return "%s高龄津贴发放名单" % g.pick(CITIES)


def penalty_person(g, b):
    y, m, _ = g.date()
    b.add("当事人：%s，%s，%d年%d月出生，" % (g.name(), g.pick(["男", "女"]), y, m))
    if g.r.random() < 0.5:
        b.add("公民身份号码：")
        number = g.id15() if g.r.random() < 0.5 else g.id18()
        b.mark(number, "id_number", "block")
        b.add("，")
    b.add("住")
    b.mark(g.house(), "address", "block")
    b.add("。\n经查，当事人于2025年3月在")
    b.add(g.pick(["施工地点", "经营场所", "项目地址"]) + "（")
    b.mark(g.office_address(), "address", decoy=True, reason="a site's address")
    b.add("）实施了违法行为。\n")
    b.add("合同编号：")
    area = g.pick(AREAS)
    b.mark(area + "%02d13%02d%s" % (g.r.randint(50, 99), g.r.randint(1, 28), g.digits(3)), "id_number", decoy=True,
           reason="a contract number whose date has month 13")
    b.add("。")
    return "行政处罚决定书"


def penalty_company(g, b):
    company = g.company()
    b.add("当事人：%s，" % company)
    if g.r.random() < 0.5:
        b.add("住所：")
        b.mark(g.office_address(), "address", decoy=True, reason="a legal person's 住所")
        b.add("，法定代表人：%s。\n" % g.name())
    else:
        b.add("法定代表人：%s，住所：" % g.name())
        b.mark(g.office_address(), "address", decoy=True, reason="a legal person's 住所, after its representative")
        b.add("。\n")
    b.add("经查，当事人经营的门店（")
    b.mark(g.office_address(), "address", decoy=True, reason="a shop's address")
    b.add("）销售不合格产品，订单号")
    b.mark("2025%s%s%s" % (g.digits(2), g.mobile(), g.digits(2)), "mobile", decoy=True,
           reason="a mobile-shaped run inside a longer order number")
    b.add("。")
    return "行政处罚决定书（单位）"


def petition_reply(g, b):
    b.add("信访人：%s，联系地址：" % g.name())
    b.mark(g.house(), "address", "block")
    b.add("，联系电话：")
    form = g.r.randrange(4)
    m = g.mobile()
    if form == 0:
        text = "+86 %s %s %s" % (m[:3], m[3:7], m[7:])
    elif form == 1:
        text = "0086-%s-%s-%s" % (m[:3], m[3:7], m[7:])
    elif form == 2:
        text = "86-" + m
    else:
        text = "%s-%s-%s" % (m[:3], m[3:7], m[7:])
    b.mark(text, "mobile", "warn")
    b.add("。\n你反映的问题已转%s办理。" % g.organ())
    if g.r.random() < 0.5:
        b.add("如需补充材料，请发送至")
        local = g.pick(["zhangli", "wang.fang", "liuqiang88", "chen_hy"])
        domain = g.pick(["163", "126", "qq", "sina"])
        form = g.r.randrange(4)
        if form == 0:
            b.mark("%s#%s.com" % (local, domain), "email", "warn")
            b.add("（请将#换成@）")
        elif form == 1:
            b.mark("%s(at)%s.com" % (local, domain), "email", "warn")
        elif form == 2:
            b.mark("%s[at]%s.com" % (local, domain), "email", "warn")
        else:
            b.mark("%s at %s dot com" % (local, domain), "email", "warn")
        b.add("。")
    b.add("\n来信请寄：%s，地址：" % g.organ())
    b.mark(g.office_address(), "address", decoy=True, reason="the organ's mailing address")
    b.add("。")
    return "信访事项处理意见书"


def enforcement(g, b):
    n = g.id18()
    form = g.r.randrange(3)
    b.add("被执行人%s，身份证号：" % g.name())
    if form == 0:
        b.mark("%s %s %s" % (n[:6], n[6:14], n[14:].lower()), "id_number", "block")
    elif form == 1:
        b.mark(n[:10] + "\n" + n[10:], "id_number", "block")
    else:
        b.mark(g.id15(), "id_number", "block")
    b.add("，逾期未履行生效法律文书确定的义务。\n已公示过的被执行人证件号码均已遮蔽，如")
    masked = n[:4] + "*" * 10 + n[14:]
    b.mark(masked, "id_number", decoy=True, reason="already masked")
    b.add("、")
    m = g.mobile()
    b.mark(m[:3] + "****" + m[7:], "mobile", decoy=True, reason="already masked")
    b.add("。")
    return "失信被执行人信息公告"


TEMPLATES = [visit_prose, visit_table, roster_prose, roster_table, penalty_person, penalty_company,
             petition_reply, enforcement]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    g = Gen(args.seed)
    os.makedirs(args.out, exist_ok=True)
    items, truth = [], []
    for i in range(args.items):
        b = Body()
        title = TEMPLATES[i % len(TEMPLATES)](g, b)
        item_id = "p%04d" % i
        body = b.text()
        raw = body.encode()
        verdict = "clean"
        for s in b.spans:
            assert raw[s["bstart"]:s["bend"]].decode() == s["text"], s
            line = dict(id=item_id, field="body", **s)
            truth.append(line)
            if not s["decoy"]:
                if s["severity"] == "block":
                    verdict = "blocked"
                elif s["severity"] == "warn" and verdict == "clean":
                    verdict = "flagged"
        truth.append({"id": item_id, "verdict": verdict})
        items.append(signed(item_id, title, body))
    with open(os.path.join(args.out, "items.jsonl"), "w") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "items.truth.jsonl"), "w") as f:
        for t in truth:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "terms.txt"), "w") as f:
        f.write("")


if __name__ == "__main__":
    main()
