package tokens

import (
	"cmp"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	tiktoken "github.com/pkoukk/tiktoken-go"

	"github.com/llm-router/router/shared/internal/textscan"
)

var calibrate = flag.Bool("calibrate", false, "fit the coefficients to the corpus and print them")

// TestCalibrate fits openaiCoef and anthropicRatio to the corpus and prints
// them as Go source, with the distribution they give and a two-fold
// cross-validation. It runs only with -calibrate:
//
//	go test ./shared/tokens -run TestCalibrate -calibrate -v
func TestCalibrate(t *testing.T) {
	if !*calibrate {
		t.Skip("run with -calibrate to refit the coefficients")
	}
	samples := loadCorpus(t)
	truth := o200k(t, samples)
	xs := make([][]float64, len(samples))
	for i, s := range samples {
		var st textscan.Stats
		textscan.Scan(s.text, &st)
		x := features(&st)
		xs[i] = x[:]
	}

	// Two-fold cross-validation: fit on alternate samples, measure the rest.
	for fold := range 2 {
		var fitX, testX [][]float64
		var fitY, testY []float64
		for i := range samples {
			if i%2 == fold {
				fitX, fitY = append(fitX, xs[i]), append(fitY, truth[i])
			} else {
				testX, testY = append(testX, xs[i]), append(testY, truth[i])
			}
		}
		c := withMargin(nnls(fitX, fitY, floors[:]), fitX, fitY)
		t.Logf("fold %d, held out: %v", fold, distribution(fitRatios(c, testX, testY)))
	}

	c := withMargin(nnls(xs, truth, floors[:]), xs, truth)
	all := fitRatios(c, xs, truth)
	t.Logf("all: %v", distribution(all))
	logOutliers(t, samples, truth, all)
	var b strings.Builder
	fmt.Fprintf(&b, "var openaiCoef = [numFeatures]float64{\n")
	for i, v := range c {
		fmt.Fprintf(&b, "\t%s: %.4f,\n", "f"+featureNames[i], v)
	}
	b.WriteString("}\n")
	t.Log("\n" + b.String())

	// For the record: the fitted openai estimate against cl100k_base, the
	// encoding of GPT-4 and GPT-3.5.
	enc, err := tiktoken.GetEncoding("cl100k_base")
	if err != nil {
		t.Fatal(err)
	}
	legacy := make([]float64, len(samples))
	for i, s := range samples {
		legacy[i] = float64(len(enc.Encode(s.text, nil, nil)))
	}
	t.Logf("openai estimate against cl100k_base: %v", distribution(fitRatios(c, xs, legacy)))

	// Claude: the same fit against the reconstruction's counts times 1.1.
	claude := claudeCounts(t, samples)
	for i := range claude {
		claude[i] *= 1.1
	}
	a := withMargin(nnls(xs, claude, floors[:]), xs, claude)
	claudeAll := fitRatios(a, xs, claude)
	t.Logf("claude, all: %v", distribution(claudeAll))
	logOutliers(t, samples, claude, claudeAll)
	b.Reset()
	for i, v := range a {
		fmt.Fprintf(&b, "\t%s: %.4f,\n", "f"+featureNames[i], v)
	}
	t.Log("\nvar anthropicCoef = [numFeatures]float64{\n" + b.String() + "}\n")
}

// logOutliers logs the samples estimated lowest and highest.
func logOutliers(t *testing.T, samples []sample, truth, r []float64) {
	order := make([]int, len(r))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(r[a], r[b]) })
	for _, i := range append(order[:6:6], order[len(order)-6:]...) {
		t.Logf("%-22s true %4.0f ratio %.2f  %.40q", samples[i].name, truth[i], r[i], samples[i].text)
	}
}

// nnls fits coefficients c, each at least its floor, minimizing the sum over
// samples of (c·x - y)²/y, by coordinate descent: relative error, damped for
// tiny texts.
func nnls(xs [][]float64, ys []float64, floor []float64) []float64 {
	n := len(xs[0])
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
	}
	b := make([]float64, n)
	for s, x := range xs {
		w := 1 / ys[s]
		for i := range x {
			b[i] += w * x[i] * ys[s]
			for j := range x {
				a[i][j] += w * x[i] * x[j]
			}
		}
	}
	c := slices.Clone(floor)
	for range 20000 {
		for i := range c {
			if a[i][i] == 0 {
				continue
			}
			var ac float64
			for j := range c {
				ac += a[i][j] * c[j]
			}
			c[i] = max(floor[i], c[i]+(b[i]-ac)/a[i][i])
		}
	}
	return c
}

// withMargin scales c so that the estimate reaches the truth on 95% of the
// samples, with 2% to spare for texts unlike the corpus.
func withMargin(c []float64, xs [][]float64, ys []float64) []float64 {
	scale := func(c []float64, m float64) []float64 {
		out := make([]float64, len(c))
		for i := range c {
			out[i] = max(floors[i], math.Ceil(c[i]*m*10000)/10000)
		}
		return out
	}
	p5 := func(c []float64) float64 { return distribution(fitRatios(c, xs, ys)).p5 }
	c = scale(c, 1.02/p5(c))
	// Coefficients held at their floor do not scale, and small texts round:
	// raise the rest in small steps until the target is met.
	for range 100 {
		if p5(c) >= 1.02 {
			break
		}
		c = scale(c, 1.005)
	}
	return c
}

func fitRatios(c []float64, xs [][]float64, ys []float64) []float64 {
	out := make([]float64, len(xs))
	for s, x := range xs {
		var sum float64
		for i := range x {
			sum += c[i] * x[i]
		}
		out[s] = max(1, math.Ceil(sum)) / ys[s]
	}
	return out
}
