package tokens

import "github.com/llm-router/router/shared/internal/textscan"

// The counts the estimate is linear in. Scripts are grouped by how well
// tokenizers' vocabularies cover them.
const (
	fLatinWords = iota // other than stopwords
	fStopWords
	fLatinLetters
	fLongLetters // Latin letters past the sixth of a word
	fLatinExt    // Latin letters outside ASCII: accents cost tokens
	fUpper
	fCaseSplits
	fDigitGroups
	fPunct
	fPunctRuns
	fWide // non-ASCII punctuation, symbols and emoji
	fWideBytes
	fSpaceRuns
	fNewlines
	fAlphaLetters // Cyrillic, Greek, Hebrew, Arabic
	fAlphaWords
	fIndicLetters // Brahmic scripts of India, Armenian, Georgian
	fIndicWords
	fThai   // no spaces between words
	fSparse // scripts o200k hardly covers: Ethiopic, Sinhala, Lao, Myanmar, Khmer, others
	fHan
	fKana
	fHangul
	fHangulWords
	numFeatures
)

var featureNames = [numFeatures]string{
	"LatinWords", "StopWords", "LatinLetters", "LongLetters", "LatinExt", "Upper", "CaseSplits", "DigitGroups", "Punct",
	"PunctRuns", "Wide", "WideBytes", "SpaceRuns", "Newlines", "AlphaLetters", "AlphaWords",
	"IndicLetters", "IndicWords", "Thai", "Sparse", "Han", "Kana", "Hangul",
	"HangulWords",
}

// group is the feature pair (letters, words) of each script; -1: no words.
var group = func() (g [textscan.NumScripts][2]int) {
	for s := range g {
		switch textscan.Script(s) {
		case textscan.None:
			g[s] = [2]int{-1, -1}
		case textscan.Latin:
			g[s] = [2]int{fLatinLetters, fLatinWords}
		case textscan.Cyrillic, textscan.Greek, textscan.Hebrew, textscan.Arabic:
			g[s] = [2]int{fAlphaLetters, fAlphaWords}
		case textscan.Devanagari, textscan.Bengali, textscan.Gurmukhi, textscan.Gujarati, textscan.Oriya,
			textscan.Tamil, textscan.Telugu, textscan.Kannada, textscan.Malayalam, textscan.Armenian,
			textscan.Georgian:
			g[s] = [2]int{fIndicLetters, fIndicWords}
		case textscan.Thai:
			g[s] = [2]int{fThai, -1}
		case textscan.Han:
			g[s] = [2]int{fHan, -1}
		case textscan.Hiragana, textscan.Katakana:
			g[s] = [2]int{fKana, -1}
		case textscan.Hangul:
			g[s] = [2]int{fHangul, fHangulWords}
		default:
			g[s] = [2]int{fSparse, -1}
		}
	}
	return g
}()

func features(st *textscan.Stats) (x [numFeatures]float64) {
	for s, n := range st.Letters {
		if n == 0 {
			continue
		}
		g := group[s]
		x[g[0]] += float64(n)
		if g[1] >= 0 {
			x[g[1]] += float64(st.Words[s])
		}
	}
	x[fLatinWords] -= float64(st.StopWords)
	x[fStopWords] = float64(st.StopWords)
	x[fLongLetters] = float64(st.LongLetters)
	x[fLatinExt] = float64(st.LatinExt)
	x[fUpper] = float64(st.Upper)
	x[fCaseSplits] = float64(st.CaseSplits)
	x[fDigitGroups] = float64(st.DigitGroups)
	x[fPunct] = float64(st.Punct)
	x[fPunctRuns] = float64(st.PunctRuns)
	x[fWide] = float64(st.Wide)
	x[fWideBytes] = float64(st.WideBytes)
	x[fSpaceRuns] = float64(st.SpaceRuns)
	x[fNewlines] = float64(st.Newlines)
	return x
}

// openaiCoef are the o200k_base coefficients, margin included (see the
// package comment for how they were fitted).
var openaiCoef = [numFeatures]float64{
	fLatinWords:   1.2074,
	fStopWords:    0.9116,
	fLatinLetters: 0.0119,
	fLongLetters:  0.3141,
	fLatinExt:     0.5831,
	fUpper:        0.1125,
	fCaseSplits:   1.0689,
	fDigitGroups:  1.4315,
	fPunct:        0.0000,
	fPunctRuns:    1.0649,
	fWide:         0.0000,
	fWideBytes:    0.3645,
	fSpaceRuns:    0.0000,
	fNewlines:     0.1011,
	fAlphaLetters: 0.0408,
	fAlphaWords:   1.8693,
	fIndicLetters: 0.3708,
	fIndicWords:   0.3728,
	fThai:         0.4339,
	fSparse:       2.7969,
	fHan:          0.7988,
	fKana:         0.8640,
	fHangul:       0.8487,
	fHangulWords:  0.2880,
}

// anthropicCoef are coefficients fitted like openaiCoef to Claude's counts
// (see TestAccuracyAnthropic), margin included, before opus47.
var anthropicCoef = [numFeatures]float64{
	fLatinWords:   1.4280,
	fStopWords:    1.3893,
	fLatinLetters: 0.0000,
	fLongLetters:  0.4670,
	fLatinExt:     3.4605,
	fUpper:        0.1333,
	fCaseSplits:   1.0879,
	fDigitGroups:  1.7209,
	fPunct:        0.0000,
	fPunctRuns:    1.2303,
	fWide:         5.2344,
	fWideBytes:    0.0000,
	fSpaceRuns:    1.6815,
	fNewlines:     0.4436,
	fAlphaLetters: 0.0000,
	fAlphaWords:   5.9571,
	fIndicLetters: 2.3711,
	fIndicWords:   0.0000,
	fThai:         2.6257,
	fSparse:       5.0343,
	fHan:          1.2306,
	fKana:         1.0849,
	fHangul:       2.0529,
	fHangulWords:  0.0000,
}

// opus47 scales the anthropic coefficients of Latin letters, digits,
// punctuation and whitespace: Anthropic says Claude Opus 4.7's tokenizer
// takes up to 1.35 times the tokens of earlier models, and independent
// measurements found the change in Latin-script text and code only.
const opus47 = 1.35

// latinish are the features opus47 applies to.
var latinish = [numFeatures]bool{
	fLatinWords: true, fStopWords: true, fLatinLetters: true, fLongLetters: true, fLatinExt: true,
	fUpper: true, fCaseSplits: true, fDigitGroups: true, fPunct: true, fPunctRuns: true,
	fWide: true, fWideBytes: true, fSpaceRuns: true, fNewlines: true,
}

// geminiRatio scales the openai coefficients for Gemini: Google counts 60
// to 80 English words per 100 tokens where OpenAI counts 75.
const geminiRatio = 1.25

// coef are the coefficients of each family.
var coef = func() (c [numFamilies][numFeatures]float64) {
	c[OpenAI] = openaiCoef
	for i := range numFeatures {
		c[Gemini][i] = openaiCoef[i] * geminiRatio
		c[Anthropic][i] = anthropicCoef[i]
		if latinish[i] {
			c[Anthropic][i] *= opus47
		}
		c[Other][i] = max(c[OpenAI][i], c[Gemini][i], c[Anthropic][i])
	}
	return c
}()
