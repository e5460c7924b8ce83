//! A folded view of text for matching, with a map back to original bytes.
//!
//! Drafters paste text from many sources: traditional characters (seed 004),
//! full-width Latin letters and digits, ideographic spaces, zero-width
//! characters. Rules match on the folded text, then report spans in the
//! original text through [`Folded::orig_range`], so that offsets always fall
//! on character boundaries of what the drafter wrote.
//!
//! Folding is one character to at most one character: traditional →
//! simplified (a table of characters common in government text, not a full
//! converter), full-width ASCII → ASCII, U+3000 → space, and zero-width
//! characters (U+200B–U+200D, U+2060, U+FEFF) dropped.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

/// Traditional → simplified pairs, two characters per entry.
const TRAD_SIMP: &str = "\
機机絕绝祕秘級级資资內内關关於于開开發发號号條条與与辦办務务會会議议記记錄录報报請请審审書书檢检\
詢询復复訴诉個个應应當当區区縣县鄉乡鎮镇義义歷历國国門门們们為为這这經经濟济產产業业東东車车長长\
員员問问題题實实現现據据規规範范則则時时間间將将對对處处頭头說说話话語语讀读論论調调護护網网絡络\
線线統统計计劃划認认識识證证權权勢势聯联係系傳传達达運运動动進进過过還还連连遠远邊边選选遞递轉转\
辭辞職职導导領领頒颁佈布財财費费貨货貿贸賬账買买賣卖價价質质貧贫從从眾众優优農农廠厂廣广慶庆廳厅\
戶户擬拟擔担擇择損损換换揮挥構构標标樣样樓楼歲岁氣气漢汉灣湾災灾無无爭争獨独獎奖環环畫画療疗盡尽\
監监盤盘確确禮礼種种稅税穩稳窮穷競竞節节簡简糧粮紀纪約约紅红組组細细終终結结給给維维綜综緊紧總总\
繼继續续罰罚羅罗聲声腦脑臺台舉举舊旧藝艺蘇苏蘭兰衛卫衝冲補补裝装製制複复見见視视覺觉觀观訂订設设\
許许評评試试該该詳详誤误課课誰谁談谈諮咨謀谋講讲讓让負负責责貸贷賠赔購购賽赛趙赵軍军載载輕轻輸输\
違违適适鄧邓醫医針针錢钱錯错鍵键閒闲陸陆陳陈隊队階阶際际隨随險险隱隐雜杂難难電电靈灵響响頁页項项\
順顺預预頻频額额顧顾類类風风飛飞館馆驗验體体髮发鬥斗鳥鸟麼么黨党齊齐龍龙歸归彙汇匯汇準准幹干併并\
竊窃洩泄臨临檔档紮扎團团圍围園园圖图場场壞坏壓压壇坛聽听嚴严協协單单參参雙双變变啟启嗎吗週周勞劳\
勵励勝胜華华漲涨滿满濫滥瀏浏覽览熱热爾尔畢毕異异稱称積积獲获築筑籤签簽签糾纠紙纸習习聞闻脅胁興兴\
艱艰莊庄萬万葉叶薦荐藥药術术裡里襲袭親亲觸触訊讯託托詐诈詞词誠诚誘诱謝谢謊谎貪贪貫贯賴赖贊赞趕赶\
跡迹蹤踪軟软輔辅輛辆輪轮辯辩迴回遷迁遺遗鄰邻釋释鐵铁鑑鉴鑒鉴閱阅陣阵陰阴隻只雲云靜静韓韩頂顶頓顿\
顯显飯饭養养餘余駐驻騙骗驅驱鬧闹魚鱼鹽盐麥麦黃黄點点齡龄鐘钟鏈链億亿儀仪儲储兒儿兩两冊册凍冻劉刘\
劑剂勁劲厲厉叢丛吳吴呂吕喪丧噸吨囑嘱圓圆塊块墜坠夢梦奪夺奮奋婦妇孫孙學学寧宁寶宝寫写屆届屬属島岛\
崗岗嶺岭幣币幫帮廢废張张彈弹強强後后徵征憂忧憲宪懷怀戰战戲戏掃扫掛挂採采揚扬擁拥擊击擴扩擾扰攜携\
數数斷断晉晋暫暂曆历曉晓極极槍枪樂乐樞枢欄栏歡欢殘残殺杀毀毁決决沒没況况淨净滅灭滬沪潔洁潛潜澤泽\
濱滨為为煙烟營营燈灯爐炉牆墙犧牺狀状獻献畝亩癥症盜盗礎础礦矿禍祸穀谷筆笔篩筛糞粪紋纹納纳紛纷緒绪\
締缔編编緩缓緯纬練练縮缩績绩繩绳繪绘罷罢聖圣聰聪肅肃脈脉脫脱膽胆臉脸臟脏艦舰蓋盖虛虚衆众譯译讚赞\
豐丰豬猪貝贝貢贡販贩賺赚贈赠趨趋蹟迹躍跃軌轨較较輯辑轄辖釘钉鈔钞鋼钢錦锦鍾钟鎖锁閉闭閣阁闊阔陽阳\
隸隶雖虽雞鸡離离霧雾韻韵頌颂頑顽頸颈顆颗願愿飲饮飾饰駕驾騎骑驚惊髒脏鬆松魯鲁鮮鲜鴻鸿鵬鹏麗丽齒齿\
龜龟繫系徑径註注憑凭闡阐濤涛溫温獄狱訪访舊旧鬮阄蓮莲團团凱凯壽寿幾几廈厦倉仓傷伤僅仅優优償偿則则\
剛刚創创劃划動动勢势區区卻却厭厌廠厂雙双發发變变嘆叹喚唤嘯啸噴喷團团圖图執执堅坚塗涂墾垦壘垒奧奥\
愛爱懶懒懸悬戀恋態态慣惯憐怜懲惩擠挤攤摊斃毙昇升晝昼暈晕樸朴橋桥檯台櫃柜權权氫氢氾泛涼凉減减測测\
湯汤準准溝沟滾滚漸渐潤润澀涩濕湿濾滤爛烂猛猛獅狮璽玺甦苏當当疏疏瘡疮盧卢眾众睜睁矯矫碼码磚砖祿禄\
禦御禪禅稟禀穌稣窩窝竄窜筍笋範范簾帘籌筹綁绑綠绿緣缘縫缝縱纵繞绕纖纤罈坛羨羡翹翘聳耸職职脹胀膚肤\
臺台與与舉举艙舱芻刍蒼苍蔔卜蘆芦處处號号蝦虾蠻蛮補补裏里誌志諾诺謹谨譽誉貓猫貼贴賀贺賊贼賄贿賓宾\
賦赋賤贱賭赌賽赛贏赢贓赃趙赵軀躯輩辈轟轰辦办辮辫迪迪遙遥郵邮鄭郑醬酱釀酿鈴铃銀银銷销鋪铺鋸锯錫锡\
鍋锅鎊镑鏡镜鐸铎鑽钻閃闪閩闽闢辟陝陕隊队雛雏霸霸靂雳韋韦頃顷頒颁頰颊頸颈餐餐饒饶馬马駁驳騰腾驢驴\
驟骤髮发鬱郁鳳凤鴨鸭鶴鹤麵面黴霉齣出";

fn table() -> &'static HashMap<char, char> {
    static TABLE: OnceLock<HashMap<char, char>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let chars: Vec<char> = TRAD_SIMP.chars().collect();
        chars.chunks(2).filter(|p| p.len() == 2 && p[0] != p[1]).map(|p| (p[0], p[1])).collect()
    })
}

/// Folds one character; `None` means the character is dropped.
pub fn fold_char(c: char) -> Option<char> {
    match c {
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => None,
        '\u{3000}' => Some(' '),
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        _ => Some(*table().get(&c).unwrap_or(&c)),
    }
}

/// Folds a whole string (without the byte map).
pub fn fold_str(s: &str) -> String {
    s.chars().filter_map(fold_char).collect()
}

/// Folded text plus, for every folded character boundary, where it is in the
/// original text.
#[derive(Debug, Clone)]
pub struct Folded {
    text: String,
    /// `starts[b]`: original byte offset of the character that starts at
    /// folded byte `b` (or the original length at the end).
    starts: Vec<usize>,
    /// `ends[b]`: original byte offset just after the character that ends at
    /// folded byte `b`.
    ends: Vec<usize>,
}

impl Folded {
    /// Folds `orig`.
    pub fn new(orig: &str) -> Folded {
        let mut text = String::with_capacity(orig.len());
        let mut starts = vec![0; orig.len() + 1];
        let mut ends = vec![0; orig.len() + 1];
        for (i, c) in orig.char_indices() {
            if let Some(f) = fold_char(c) {
                let b = text.len();
                starts[b] = i;
                text.push(f);
                ends[text.len()] = i + c.len_utf8();
            }
        }
        starts.truncate(text.len() + 1);
        ends.truncate(text.len() + 1);
        starts[text.len()] = orig.len();
        Folded { text, starts, ends }
    }

    /// The folded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The original byte range of a folded byte range (both ends on
    /// character boundaries of the folded text).
    pub fn orig_range(&self, r: Range<usize>) -> Range<usize> {
        if r.start >= r.end {
            let s = self.starts[r.start];
            return s..s;
        }
        self.starts[r.start]..self.ends[r.end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let chars: Vec<char> = TRAD_SIMP.chars().collect();
        assert_eq!(chars.len() % 2, 0);
        let mut seen: HashMap<char, char> = HashMap::new();
        for p in chars.chunks(2) {
            if let Some(prev) = seen.insert(p[0], p[1]) {
                assert_eq!(prev, p[1], "{} maps two ways", p[0]);
            }
            // A simplified character must not itself be folded further.
            assert!(!table().contains_key(&p[1]) || p[0] == p[1], "{} is a key", p[1]);
        }
    }

    #[test]
    fn folds_and_maps_back() {
        for (orig, folded, needle, span_text) in [
            ("機密★5年", "机密★5年", "机密", "機密"),
            ("本件密級：絕密", "本件密级:绝密", "绝密", "絕密"),
            ("江政办发〔２０２４〕１２号", "江政办发〔2024〕12号", "2024", "２０２４"),
            ("删\u{200b}帖公关", "删帖公关", "删帖", "删\u{200b}帖"),
            ("🎉条例第十五条", "🎉条例第十五条", "第十五条", "第十五条"),
            ("内部资料\u{3000}注意保密", "内部资料 注意保密", "资料 注意", "资料\u{3000}注意"),
        ] {
            let f = Folded::new(orig);
            assert_eq!(f.text(), folded);
            let at = f.text().find(needle).unwrap();
            let r = f.orig_range(at..at + needle.len());
            assert_eq!(&orig[r], span_text, "{orig}");
        }
    }
}
