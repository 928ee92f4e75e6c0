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
	fNewlines
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
	"Newlines", "CyrillicLetters", "CyrillicWords", "CyrillicExt", "GreekLetters", "GreekWords",
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
	x[fNewlines] = float64(st.Newlines)
	return x
}

// openaiCoef are the o200k_base coefficients, as TestCalibrate fits them:
// non-negative least squares on the relative error over the corpus, then
// scaled so that the 5th percentile of estimate/true is 1.02.
var openaiCoef = [numFeatures]float64{
	fLatinWords:      1.0846,
	fStopWords:       0.5792,
	fForeignWords:    0.1786,
	fLatinLetters:    0.0504,
	fLongLetters:     0.2183,
	fLatinExt:        0.0000,
	fLatinExtA:       0.8275,
	fUpper:           0.1667,
	fCaseSplits:      0.5728,
	fDigitGroups:     1.3681,
	fPunct:           0.0089,
	fPunctRuns:       0.9972,
	fWide:            0.3115,
	fWideBytes:       0.3734,
	fSpaceRuns:       0.0000,
	fNewlines:        0.0605,
	fCyrillicLetters: 0.0000,
	fCyrillicWords:   2.0250,
	fCyrillicExt:     0.9644,
	fGreekLetters:    0.0616,
	fGreekWords:      2.1245,
	fSemiticLetters:  0.2263,
	fSemiticWords:    0.8683,
	fIndicLetters:    0.3801,
	fIndicWords:      0.2313,
	fThai:            0.4089,
	fSparse:          2.7175,
	fHan:             0.7426,
	fKana:            0.8220,
	fHangul:          0.5490,
	fHangulWords:     1.1469,
}

// anthropicCoef are fitted like openaiCoef, to Claude's counts (see
// Anthropic), before opus47.
var anthropicCoef = [numFeatures]float64{
	fLatinWords:      1.4160,
	fStopWords:       0.9896,
	fForeignWords:    0.5779,
	fLatinLetters:    0.0000,
	fLongLetters:     0.3150,
	fLatinExt:        0.8064,
	fLatinExtA:       3.3820,
	fUpper:           0.2260,
	fCaseSplits:      0.5748,
	fDigitGroups:     1.2956,
	fPunct:           0.0064,
	fPunctRuns:       1.1444,
	fWide:            3.4894,
	fWideBytes:       0.0000,
	fSpaceRuns:       0.4081,
	fNewlines:        1.0299,
	fCyrillicLetters: 0.6244,
	fCyrillicWords:   0.8331,
	fCyrillicExt:     2.4708,
	fGreekLetters:    0.0000,
	fGreekWords:      8.5353,
	fSemiticLetters:  0.9600,
	fSemiticWords:    1.8681,
	fIndicLetters:    2.1304,
	fIndicWords:      0.0000,
	fThai:            2.2802,
	fSparse:          4.6082,
	fHan:             1.2534,
	fKana:            1.0524,
	fHangul:          1.8698,
	fHangulWords:     0.0000,
}

// opus47 raises the anthropic coefficients of Latin-script text, digits,
// punctuation and whitespace for Claude Opus 4.7's tokenizer (see Anthropic).
const opus47 = 1.35

// latinish are the features opus47 applies to.
var latinish = [numFeatures]bool{
	fLatinWords: true, fStopWords: true, fForeignWords: true, fLatinLetters: true,
	fLongLetters: true, fLatinExt: true, fLatinExtA: true, fUpper: true, fCaseSplits: true,
	fDigitGroups: true, fPunct: true, fPunctRuns: true, fWide: true, fWideBytes: true,
	fSpaceRuns: true, fNewlines: true,
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
