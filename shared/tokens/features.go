package tokens

import (
	"slices"

	"github.com/llm-router/router/shared/internal/textscan"
)

// The counts the estimate is linear in. Scripts are grouped by how well
// tokenizers' vocabularies cover them.
const (
	fLatinWords = iota // other than stopwords
	fStopWords
	fForeignWords // Latin words, times the lead of another language's stopwords over English ones
	fLatinLetters
	fLongLetters // Latin letters past the sixth of a word
	fLatinExt    // Latin letters outside ASCII: accents cost tokens
	fLatinExtA   // of which past Latin-1: languages o200k covers less well
	fUpper
	fCaseSplits
	fDigitGroups
	fPunct
	fPunctRuns
	fWide // non-ASCII punctuation, symbols and emoji
	fWideBytes
	fSpaceRuns
	fSpaceChars
	fSpaceDigits
	fNewlines
	fCombining
	fCyrillicLetters
	fCyrillicWords
	fCyrillicExt // Cyrillic letters outside Russian's alphabet
	fGreekLetters
	fGreekWords
	fSemiticLetters // Hebrew and Arabic
	fSemiticWords
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
	"LatinWords", "StopWords", "ForeignWords", "LatinLetters", "LongLetters", "LatinExt", "LatinExtA",
	"Upper", "CaseSplits", "DigitGroups", "Punct", "PunctRuns", "Wide", "WideBytes", "SpaceRuns",
	"SpaceChars", "SpaceDigits", "Newlines", "Combining", "CyrillicLetters", "CyrillicWords", "CyrillicExt", "GreekLetters", "GreekWords",
	"SemiticLetters", "SemiticWords", "IndicLetters", "IndicWords", "Thai", "Sparse", "Han", "Kana",
	"Hangul", "HangulWords",
}

// group is the feature pair (letters, words) of each script; -1: no words.
var group = func() (g [textscan.NumScripts][2]int) {
	for s := range g {
		switch textscan.Script(s) {
		case textscan.None:
			g[s] = [2]int{-1, -1}
		case textscan.Latin:
			g[s] = [2]int{fLatinLetters, fLatinWords}
		case textscan.Cyrillic:
			g[s] = [2]int{fCyrillicLetters, fCyrillicWords}
		case textscan.Greek:
			g[s] = [2]int{fGreekLetters, fGreekWords}
		case textscan.Hebrew, textscan.Arabic:
			g[s] = [2]int{fSemiticLetters, fSemiticWords}
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
	if en, other := st.Stop[textscan.En], slices.Max(st.Stop[textscan.En+1:]); other > en {
		x[fForeignWords] = x[fLatinWords] * float64(other-en) / float64(other+en)
	}
	x[fLatinWords] -= float64(st.StopWords)
	x[fStopWords] = float64(st.StopWords)
	x[fLongLetters] = float64(st.LongLetters)
	x[fLatinExt] = float64(st.LatinExt)
	x[fLatinExtA] = float64(st.LatinExtA)
	x[fCyrillicExt] = float64(st.CyrillicExt)
	x[fUpper] = float64(st.Upper)
	x[fCaseSplits] = float64(st.CaseSplits)
	x[fDigitGroups] = float64(st.DigitGroups)
	x[fPunct] = float64(st.Punct)
	x[fPunctRuns] = float64(st.PunctRuns)
	x[fWide] = float64(st.Wide)
	x[fWideBytes] = float64(st.WideBytes)
	x[fSpaceRuns] = float64(st.SpaceRuns)
	x[fSpaceChars] = float64(st.SpaceChars)
	x[fSpaceDigits] = float64(st.SpaceDigits)
	x[fCombining] = float64(st.Combining)
	x[fNewlines] = float64(st.Newlines)
	return x
}

// floors are the least each feature costs in o200k_base, whatever the fit
// says, so that texts unlike the corpus are not under-estimated. BPE never
// merges across its pre-tokens, so each word (and each part of a camelCase
// word), group of three digits, whitespace run other than a single space,
// and space before a digit is at least a token; long whitespace runs take a
// token per 8 to 128 characters, repeated punctuation one per 64; a symbol
// outside ASCII up to a token per two bytes, a combining mark two.
var floors = [numFeatures]float64{
	fLatinWords: 1, fStopWords: 1, fCaseSplits: 1, fCyrillicWords: 1, fGreekWords: 1,
	fSemiticWords: 1, fIndicWords: 1, fHangulWords: 1, fDigitGroups: 1, fSpaceRuns: 1,
	fSpaceChars: 1.0 / 8, fSpaceDigits: 1, fPunct: 1.0 / 64, fWideBytes: 0.5, fCombining: 2,
}

// openaiCoef are the o200k_base coefficients, as TestCalibrate fits them:
// least squares on the relative error over the corpus, each coefficient at
// least its floor, then scaled so that the 5th percentile of estimate/true
// is 1.02.
var openaiCoef = [numFeatures]float64{
	fLatinWords:      1.1947,
	fStopWords:       1.1947,
	fForeignWords:    0.2389,
	fLatinLetters:    0.0000,
	fLongLetters:     0.1451,
	fLatinExt:        0.0000,
	fLatinExtA:       1.3025,
	fUpper:           0.1315,
	fCaseSplits:      1.1947,
	fDigitGroups:     1.3650,
	fPunct:           0.3696,
	fPunctRuns:       0.1912,
	fWide:            0.0000,
	fWideBytes:       0.5974,
	fSpaceRuns:       1.1947,
	fSpaceChars:      0.1494,
	fSpaceDigits:     2.5333,
	fNewlines:        0.0000,
	fCombining:       2.3894,
	fCyrillicLetters: 0.0000,
	fCyrillicWords:   2.1154,
	fCyrillicExt:     1.0941,
	fGreekLetters:    0.0000,
	fGreekWords:      2.5021,
	fSemiticLetters:  0.1819,
	fSemiticWords:    1.1947,
	fIndicLetters:    0.1958,
	fIndicWords:      1.1947,
	fThai:            0.4102,
	fSparse:          2.8170,
	fHan:             0.8095,
	fKana:            0.8765,
	fHangul:          0.5484,
	fHangulWords:     1.1947,
}

// anthropicCoef are fitted like openaiCoef, to Claude's counts (see
// Anthropic), before opus47.
var anthropicCoef = [numFeatures]float64{
	fLatinWords:      1.3480,
	fStopWords:       1.1761,
	fForeignWords:    0.6382,
	fLatinLetters:    0.0000,
	fLongLetters:     0.2238,
	fLatinExt:        0.7994,
	fLatinExtA:       3.6857,
	fUpper:           0.2020,
	fCaseSplits:      1.1761,
	fDigitGroups:     1.2470,
	fPunct:           0.0778,
	fPunctRuns:       0.9967,
	fWide:            1.5322,
	fWideBytes:       0.5881,
	fSpaceRuns:       1.1761,
	fSpaceChars:      0.1471,
	fSpaceDigits:     1.1761,
	fNewlines:        0.0354,
	fCombining:       2.3521,
	fCyrillicLetters: 0.5726,
	fCyrillicWords:   1.1761,
	fCyrillicExt:     2.4291,
	fGreekLetters:    0.0000,
	fGreekWords:      8.5781,
	fSemiticLetters:  1.0164,
	fSemiticWords:    1.7206,
	fIndicLetters:    1.8943,
	fIndicWords:      1.1761,
	fThai:            2.2891,
	fSparse:          4.6767,
	fHan:             1.3023,
	fKana:            1.0877,
	fHangul:          1.4974,
	fHangulWords:     1.1761,
}

// opus47 raises the anthropic coefficients of Latin-script text, digits,
// punctuation and whitespace for Claude Opus 4.7's tokenizer (see Anthropic).
const opus47 = 1.35

// latinish are the features opus47 applies to.
var latinish = [numFeatures]bool{
	fLatinWords: true, fStopWords: true, fForeignWords: true, fLatinLetters: true,
	fLongLetters: true, fLatinExt: true, fLatinExtA: true, fUpper: true, fCaseSplits: true,
	fDigitGroups: true, fPunct: true, fPunctRuns: true, fWide: true, fWideBytes: true,
	fSpaceRuns: true, fSpaceChars: true, fSpaceDigits: true, fNewlines: true, fCombining: true,
}

// geminiRatio scales the openai coefficients for Gemini (see Gemini).
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
