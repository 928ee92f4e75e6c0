package textscan

// Weights of a letter per script when scripts compete for a text: a Chinese
// character carries about as much as three Latin letters (English averages
// some five letters a word, Chinese under two characters), a kana or a Hangul
// syllable about two. Without them an English sentence with two Chinese words
// in it would tie with a Chinese one with two English words.
var scriptWeight = func() (w [NumScripts]float64) {
	for i := range w {
		w[i] = 1
	}
	w[Han] = 3
	w[Hiragana], w[Katakana], w[Hangul] = 2, 2, 2
	return w
}()

// MajorityShare is the share of weighted letters the dominant script needs for
// a language to be named; below it (three or more scripts, none a majority)
// the language is "und".
const MajorityShare = 0.5

// KanaShare is the share of kana among Han and kana letters from which text
// is Japanese rather than Chinese.
const KanaShare = 0.1

// Detection is the dominant script and language of the counted text.
type Detection struct {
	Script  Script
	Lang    string  // BCP 47 primary language subtag, or "und"
	Share   float64 // the dominant script's share of weighted letters
	Letters int     // all letters counted, unweighted
}

// scriptLang is the language a script stands for when nothing finer applies.
var scriptLang = [NumScripts]string{
	None: "und", Latin: "und", Cyrillic: "ru", Greek: "el", Armenian: "hy", Georgian: "ka", Hebrew: "he",
	Arabic: "ar", Devanagari: "hi", Bengali: "bn", Gurmukhi: "pa", Gujarati: "gu", Oriya: "or",
	Tamil: "ta", Telugu: "te", Kannada: "kn", Malayalam: "ml", Sinhala: "si", Thai: "th", Lao: "lo",
	Myanmar: "my", Khmer: "km", Ethiopic: "am", Han: "zh", Hiragana: "ja", Katakana: "ja",
	Hangul: "ko", OtherLetter: "und",
}

// Detect names the dominant script of the counted text and its language.
// Han, Hiragana and Katakana compete as one block (Japanese mixes them); the
// block is Japanese, and its script the commoner kana, when kana make up
// KanaShare of it, and Chinese (Han) otherwise.
func Detect(st *Stats) Detection {
	var d Detection
	var weighted [NumScripts]float64
	var total float64
	for s, n := range st.Letters {
		d.Letters += n
		weighted[s] = float64(n) * scriptWeight[s]
		total += weighted[s]
	}
	if d.Letters == 0 {
		return Detection{Script: None, Lang: "und"}
	}
	cjk := weighted[Han] + weighted[Hiragana] + weighted[Katakana]
	best, bestW := Latin, -1.0
	for s, w := range weighted {
		if s == int(Han) || s == int(Hiragana) || s == int(Katakana) {
			continue
		}
		if w > bestW {
			best, bestW = Script(s), w
		}
	}
	japanese := false
	if cjk > bestW {
		bestW = cjk
		best = Han
		kana := st.Letters[Hiragana] + st.Letters[Katakana]
		if float64(kana) >= KanaShare*float64(kana+st.Letters[Han]) {
			japanese = true
			best = Hiragana
			if st.Letters[Katakana] > st.Letters[Hiragana] {
				best = Katakana
			}
		}
	}
	d.Script = best
	d.Share = bestW / total
	if d.Share < MajorityShare {
		d.Lang = "und"
		return d
	}
	switch best {
	case Latin:
		d.Lang = latinLang(st)
	case Cyrillic:
		d.Lang = cyrillicLang(st)
	case Arabic:
		d.Lang = arabicLang(st)
	case Han, Hiragana, Katakana:
		d.Lang = "zh"
		if japanese {
			d.Lang = "ja"
		}
	default:
		d.Lang = scriptLang[best]
	}
	return d
}

// latinLang picks among en, es, fr, de, pt, it and nl by stopwords (two
// points each) and accented letters (one point each). It needs at least two
// points and a strict lead; code, names and one-word texts stay "und".
func latinLang(st *Stats) string {
	best, bestScore, second := -1, 0, 0
	for l := range NumLatinLangs {
		score := 2*st.Stop[l] + st.Hint[l]
		switch {
		case score > bestScore:
			best, bestScore, second = l, score, bestScore
		case score > second:
			second = score
		}
	}
	if best < 0 || bestScore < 2 || bestScore == second {
		return "und"
	}
	return LatinLangs[best]
}

// cyrillicLang tells Ukrainian, Serbian and Bulgarian from Russian by the
// letters each alphabet has or lacks; Belarusian reads as Ukrainian or
// Russian, Macedonian as Serbian, and the Central Asian alphabets as Russian.
func cyrillicLang(st *Stats) string {
	m := &st.Marks
	switch {
	case m[MarkUk] > 0 && m[MarkUk] >= m[MarkRu]:
		return "uk"
	case m[MarkSr] > 0 && m[MarkSr] > m[MarkRu]:
		return "sr"
	case m[MarkRu] == 0 && m[MarkBg] > 0 && 100*m[MarkBg] >= st.Letters[Cyrillic]:
		return "bg"
	}
	return "ru"
}

// arabicLang tells Urdu and Persian from Arabic by their extra letters and by
// the Persian forms of yeh and kaf, which Arabic spelling never uses.
func arabicLang(st *Stats) string {
	m := &st.Marks
	switch {
	case m[MarkUr] > 0 && 5*m[MarkUr] >= m[MarkFa]:
		return "ur"
	case m[MarkFa] > m[MarkAr]:
		return "fa"
	}
	return "ar"
}
