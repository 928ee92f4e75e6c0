// Package tokens estimates how many input tokens a request will take, cheaply
// enough to run on every request, so the router can skip a target whose
// context window cannot hold the prompt plus max_tokens.
//
// The estimate is linear in counts from one pass over the text (letters and
// words per script, digit groups, punctuation, whitespace runs), with
// coefficients fitted to OpenAI's o200k_base tokenizer and raised by a margin
// so that it rarely falls short: a too-high estimate skips a target that
// would have fitted, a too-low one sends a request the provider refuses.
//
// Only OpenAI publishes its tokenizer; the other families scale the openai
// coefficients by ratios per kind of text (see Family), chosen to lean high.
package tokens

import (
	"math"

	"github.com/llm-router/router/shared/internal/textscan"
	"github.com/llm-router/router/shared/lang"
)

// Family is a tokenizer family: the estimate differs per family because the
// same text is a different number of tokens for each provider's models.
type Family uint8

// The families the router distinguishes.
const (
	// OpenAI is o200k_base (GPT-4o, GPT-4.1, GPT-5, o-series). Older models on
	// cl100k_base (GPT-4, GPT-3.5) take up to twice as many tokens for
	// non-Latin text and are under-estimated there.
	OpenAI Family = iota
	// Anthropic is Claude's tokenizer, which Anthropic does not publish.
	// Anthropic says Claude Opus 4.7's tokenizer takes up to 1.35x the tokens
	// of earlier Claude models for the same text; earlier models took about as
	// many as o200k for English and code but 1.5 to 5 times as many for other
	// scripts. The estimate covers the newer tokenizer and leans high for the
	// older ones.
	Anthropic
	// Gemini is Google's tokenizer. Google says a token is about 4 characters
	// and 100 tokens about 60 to 80 English words (OpenAI: about 75), so the
	// estimate is the openai one times 1.25.
	Gemini
	// Other is any other model (DeepSeek, Mistral, Qwen, Llama, … behind an
	// OpenAI-compatible API, or Bedrock, whose models vary): the largest of
	// the three families' coefficients for each kind of text.
	Other
	numFamilies
)

var familyNames = [numFamilies]string{"openai", "anthropic", "gemini", "other"}

func (f Family) String() string {
	if f < numFamilies {
		return familyNames[f]
	}
	return "other"
}

// FamilyFor returns the family of a provider, by its configured type and,
// for openai providers, its dialect. Azure serves OpenAI's models; Bedrock
// and every OpenAI-compatible API other than OpenAI's own are Other.
func FamilyFor(providerType, dialect string) Family {
	switch providerType {
	case "openai":
		if dialect == "" || dialect == "openai" {
			return OpenAI
		}
		return Other
	case "azure":
		return OpenAI
	case "anthropic":
		return Anthropic
	case "gemini":
		return Gemini
	}
	return Other
}

// Estimate returns the estimated number of tokens of text for family f: never
// 0 for a non-empty text.
func Estimate(text string, f Family) int {
	if text == "" {
		return 0
	}
	var st textscan.Stats
	textscan.Scan(text, &st)
	return estimate(&st, f)
}

func estimate(st *textscan.Stats, f Family) int {
	if st.Bytes == 0 {
		return 0
	}
	x := features(st)
	c := &coef[min(f, Other)]
	var sum float64
	for i, v := range x {
		sum += c[i] * v
	}
	return max(1, int(math.Ceil(sum)))
}

// Counter sums the estimate over the parts of a request, so the router can
// walk a request's messages without joining them into one string. The zero
// value is empty and ready to use.
type Counter struct {
	st       textscan.Stats
	messages int
	tools    int
	images   [2]int // low detail, other
}

// Add counts text: a message's content, a name, a tool call's arguments.
func (c *Counter) Add(text string) {
	textscan.Scan(text, &c.st)
}

// AddDetect counts text like Add and returns its script and language, from
// the same pass: the router's way to size a request and read the language of
// its last user message at once.
func (c *Counter) AddDetect(text string) lang.Result {
	var st textscan.Stats
	textscan.Scan(text, &st)
	c.st.Add(&st)
	d := textscan.Detect(&st)
	return lang.Result{Script: lang.Script(d.Script), Lang: d.Lang, Share: d.Share, Letters: d.Letters}
}

// AddMessage counts the framing of one message (role and separators); call
// it once per message besides adding its text.
func (c *Counter) AddMessage() { c.messages++ }

// AddImage counts one image at the fixed cost of its detail ("low", "high",
// "auto" or ""): the size of an image is not known without fetching or
// decoding it, so every image but a low-detail one is counted at the most a
// provider charges for one (see ImageTokens).
func (c *Counter) AddImage(detail string) {
	if detail == "low" {
		c.images[0]++
	} else {
		c.images[1]++
	}
}

// AddTool counts one tool definition: its name, description and JSON schema
// as text, plus the framing each provider adds around tools.
func (c *Counter) AddTool(name, description string, parameters []byte) {
	c.tools++
	textscan.Scan(name, &c.st)
	textscan.Scan(description, &c.st)
	if len(parameters) > 0 {
		textscan.Scan(string(parameters), &c.st)
	}
}

// Tokens returns the estimated input tokens of everything added, for f.
func (c *Counter) Tokens(f Family) int {
	f = min(f, Other)
	o := &overheads[f]
	n := estimate(&c.st, f) + c.messages*o.message + c.images[0]*o.imageLow + c.images[1]*o.image
	if c.tools > 0 {
		n += o.toolsOnce + c.tools*o.tool
	}
	if n > 0 {
		n += o.request
	}
	return n
}

// overhead is what a family adds around text, in tokens.
type overhead struct {
	request   int // once per request (reply priming, system framing)
	message   int // per message
	toolsOnce int // once when there are tools (the provider's tool-use preamble)
	tool      int // per tool, besides its text
	imageLow  int // per low-detail image
	image     int // per image of any other detail
}

// ImageTokens are the per-image costs used by Counter.AddImage, by family:
// OpenAI charges 85 tokens for a low-detail image and at most about 1,536 for
// a high-detail one; Claude (Opus 4.7 and later) up to 4,784 whatever the
// detail; Gemini 258 per 768-pixel tile, counted here as six tiles
// (a 1600x1200 photo).
var overheads = [numFamilies]overhead{
	OpenAI:    {request: 3, message: 4, toolsOnce: 16, tool: 10, imageLow: 85, image: 1536},
	Anthropic: {request: 8, message: 4, toolsOnce: 560, tool: 60, imageLow: 4784, image: 4784},
	Gemini:    {request: 8, message: 4, toolsOnce: 16, tool: 10, imageLow: 1548, image: 1548},
	Other:     {request: 8, message: 4, toolsOnce: 560, tool: 60, imageLow: 4784, image: 4784},
}

// ImageTokens returns what Counter.AddImage counts for one image of the given
// detail in family f.
func ImageTokens(f Family, detail string) int {
	o := &overheads[min(f, Other)]
	if detail == "low" {
		return o.imageLow
	}
	return o.image
}
