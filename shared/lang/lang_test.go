package lang

import (
	"testing"

	"github.com/llm-router/router/shared/internal/textscan"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		wantScript Script
		wantLang   string
	}{
		// One language each.
		{"english", "Could you summarise the main arguments of the article in three bullet points?", Latin, "en"},
		{"english chat", "hey can u help me write an email to my landlord about the heater", Latin, "en"},
		{"spanish", "¿Podrías explicarme la diferencia entre el pretérito perfecto y el indefinido?", Latin, "es"},
		{"french", "Pouvez-vous m'aider à rédiger une lettre de motivation pour un poste à Lyon ?", Latin, "fr"},
		{"german", "Kannst du mir bitte erklären, wie die Umweltzone in der Innenstadt funktioniert?", Latin, "de"},
		{"portuguese", "Você pode me ajudar a entender por que o meu código não está funcionando?", Latin, "pt"},
		{"italian", "Potresti spiegarmi qual è la differenza tra il passato prossimo e il passato remoto?", Latin, "it"},
		{"dutch", "Kun je me helpen met het schrijven van een korte e-mail aan mijn huisbaas?", Latin, "nl"},
		{"chinese", "请帮我写一封邮件，告诉客户我们的发货时间将推迟一周。", Han, "zh"},
		{"traditional chinese", "這個函數的作用是什麼？為什麼執行的時候會報錯？", Han, "zh"},
		{"japanese", "以下の文章を三行で要約してください。専門用語は分かりやすく言い換えてください。", Hiragana, "ja"},
		{"japanese katakana heavy", "コンピューターのソフトウェアをアップデートしました。", Katakana, "ja"},
		{"korean", "파이썬에서 리스트를 정렬할 때 sort()와 sorted()의 차이점이 무엇인가요?", Hangul, "ko"},
		{"arabic", "من فضلك، اكتب لي رسالة قصيرة ومهذبة إلى مديري أطلب فيها إجازة.", Arabic, "ar"},
		{"persian", "امروز هوا خیلی سرد است و برف می\u200cبارد. لطفاً به من کمک کنید.", Arabic, "fa"},
		{"urdu", "آپ کیسے ہیں؟ میں آج بازار جا رہا ہوں اور شام کو واپس آؤں گا۔", Arabic, "ur"},
		{"hebrew", "אתה יכול לעזור לי לכתוב מכתב קצר למורה של הבן שלי?", Hebrew, "he"},
		{"thai", "ช่วยแปลประโยคนี้เป็นภาษาอังกฤษให้หน่อยได้ไหมครับ", Thai, "th"},
		{"greek", "Μπορείς να μου εξηγήσεις τη διαφορά ανάμεσα στον αόριστο και τον παρατατικό;", Greek, "el"},
		{"hindi", "कृपया मुझे बताइए कि पायथन में सूची और टपल में क्या अंतर है?", Devanagari, "hi"},
		{"bengali", "আমি আজ বাজারে যাচ্ছি, তুমি কি আমার সাথে আসবে?", Bengali, "bn"},
		{"tamil", "நீங்கள் எப்படி இருக்கிறீர்கள்? நான் நன்றாக இருக்கிறேன்.", Tamil, "ta"},
		{"russian", "Помоги, пожалуйста, составить план подготовки к экзамену по математике.", Cyrillic, "ru"},
		{"ukrainian", "Як правильно написати заяву на відпустку? Підкажіть, будь ласка, формат.", Cyrillic, "uk"},
		{"bulgarian", "София е столицата на България и един от най-старите градове в Европа.", Cyrillic, "bg"},
		{"serbian", "Београд је главни град Србије и налази се на ушћу Саве у Дунав.", Cyrillic, "sr"},
		{"georgian", "გამარჯობა, როგორ ხარ? დღეს ძალიან ლამაზი ამინდია.", Georgian, "ka"},
		{"armenian", "Բարև, ինչպե՞ս ես։ Այսօր շատ գեղեցիկ օր է։", Armenian, "hy"},
		{"amharic", "ሰላም፣ እንዴት ነህ? ዛሬ በጣም ጥሩ ቀን ነው።", Ethiopic, "am"},

		{"short spanish", "Hola, ¿cómo estás?", Latin, "es"},
		{"short french", "Bonjour, comment ça va ?", Latin, "fr"},
		{"short german", "Guten Morgen, wie geht es dir?", Latin, "de"},
		{"short italian", "Ciao, come stai?", Latin, "it"},
		{"short dutch", "Hoe gaat het met je?", Latin, "nl"},
		{"short portuguese without stopwords", "Olá, tudo bem?", Latin, "und"},
		{"polish is not one of the seven", "Dzień dobry, chciałbym zmienić termin wizyty.", Latin, "und"},

		// Mixed scripts: the weighted majority decides.
		{"english quoting chinese", `What does "塞翁失马，焉知非福" mean, and when would someone say it? Please explain the story.`, Latin, "en"},
		{"chinese with english terms", "请帮我优化这个 React 组件，useEffect 里面的 fetch 请求在组件卸载之后还会调用 setState。", Han, "zh"},
		{"japanese with code", "このPythonスクリプトで、pandasのDataFrameをCSVに書き出すときに文字化けします。", Hiragana, "ja"},
		{"english asking about korean", `Can you proofread this Korean sentence for me? "저는 다음 주에 서울에 갑니다." Is it polite enough?`, Latin, "en"},
		{"russian with english", "Привет! Нужно написать эссе на тему \"My favourite book\" примерно на 200 слов.", Cyrillic, "ru"},
		{"english instructions about arabic", `The patient's daughter speaks only Arabic; please translate the discharge instructions: "خذ الدواء مرتين يوميًا بعد الأكل" and add the English version next to it.`, Latin, "en"},
		{"arabic quote longer than the english", `Translate into English: "خذ الدواء مرتين يوميًا بعد الأكل"`, Arabic, "ar"},
		{"translate chinese sentence", "Translate to English: 会议改到下周三下午两点，请大家提前准备好季度报告。", Han, "zh"},
		{"no majority of three", "Hello мир 你好", Han, "und"},

		// Short, empty and letterless texts.
		{"empty", "", ScriptNone, "und"},
		{"numbers only", "3.14159 42 2024-05-03", ScriptNone, "und"},
		{"emoji only", "👍🎉😂", ScriptNone, "und"},
		{"punctuation", "?!... --- ***", ScriptNone, "und"},
		{"one english word", "Hello!", Latin, "und"},
		{"two english words", "thank you", Latin, "en"},
		{"one chinese word", "谢谢", Han, "zh"},
		{"short japanese", "ありがとう", Hiragana, "ja"},
		{"kanji only reads as chinese", "東京都庁", Han, "zh"},
		{"short korean", "감사합니다", Hangul, "ko"},
		{"short russian", "Спасибо", Cyrillic, "ru"},
		{"emoji with english", "lol no i meant the OTHER one 😂😂 the blue one", Latin, "en"},

		// Code: Latin letters without a language, unless English words are in it.
		{"go code", "func main() {\n\tx := map[string]int{}\n\tfmt.Println(len(x))\n}", Latin, "und"},
		{"json", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, Latin, "und"},
		{"code with an english comment", "// Get returns the value for key and whether it was present.\nfunc (c *Cache) Get(key string) (int, bool)", Latin, "en"},
		{"ambiguous spanish french", "de la", Latin, "und"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Detect(tt.text)
			if got.Script != tt.wantScript || got.Lang != tt.wantLang {
				t.Errorf("Detect(%q) = %v/%s (share %.2f), want %v/%s", tt.text, got.Script, got.Lang, got.Share, tt.wantScript, tt.wantLang)
			}
			if got.Script == ScriptNone && (got.Share != 0 || got.Letters != 0) {
				t.Errorf("Detect(%q) = %+v: no script but a share or letters", tt.text, got)
			}
			if got.Script != ScriptNone && (got.Share <= 0 || got.Share > 1 || got.Letters == 0) {
				t.Errorf("Detect(%q) = %+v: share out of (0, 1] or no letters", tt.text, got)
			}
		})
	}
}

func TestDetectShare(t *testing.T) {
	tests := []struct {
		text      string
		wantShare float64
	}{
		{"hello", 1},
		{"ab 你", 0.6}, // 3 weighted Han against 2 Latin
		{"abcd 안녕", 0.5},
	}
	for _, tt := range tests {
		if got := Detect(tt.text).Share; got != tt.wantShare {
			t.Errorf("Detect(%q).Share = %v, want %v", tt.text, got, tt.wantShare)
		}
	}
}

func TestScriptStrings(t *testing.T) {
	tests := []struct {
		s    Script
		code string
	}{
		{ScriptNone, "Zyyy"}, {Latin, "Latn"}, {Han, "Hani"}, {Hiragana, "Hira"}, {Katakana, "Kana"},
		{Hangul, "Hang"}, {Arabic, "Arab"}, {Cyrillic, "Cyrl"}, {Devanagari, "Deva"}, {Other, "Zzzz"},
		{Script(200), "Zzzz"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.code {
			t.Errorf("Script(%d).String() = %q, want %q", tt.s, got, tt.code)
		}
	}
	for s := range numScripts {
		for _, name := range []string{scriptCodes[s], scriptNames[s]} {
			if got, ok := ParseScript(name); !ok || got != s {
				t.Errorf("ParseScript(%q) = %v, %v; want %v", name, got, ok, s)
			}
		}
	}
	for _, name := range []string{"HANI", "Han", "hangul"} {
		if _, ok := ParseScript(name); !ok {
			t.Errorf("ParseScript(%q) failed", name)
		}
	}
	if _, ok := ParseScript("klingon"); ok {
		t.Error("ParseScript(klingon) succeeded")
	}
}

// TestThresholds checks that the documented thresholds are the ones the
// scanner applies.
func TestThresholds(t *testing.T) {
	if MajorityShare != textscan.MajorityShare || KanaShare != textscan.KanaShare {
		t.Errorf("MajorityShare %v, KanaShare %v; the scanner uses %v and %v",
			MajorityShare, KanaShare, textscan.MajorityShare, textscan.KanaShare)
	}
	if int(numScripts) != int(textscan.NumScripts) {
		t.Errorf("%d scripts here, %d in the scanner", numScripts, textscan.NumScripts)
	}
}

func TestDetectAllocs(t *testing.T) {
	text := "请帮我优化这个 React 组件 and explain why the fetch runs twice, in English por favor."
	if n := testing.AllocsPerRun(100, func() { Detect(text) }); n != 0 {
		t.Errorf("Detect allocates %v times, want 0", n)
	}
}
