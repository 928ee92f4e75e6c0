package gemini

import (
	"encoding/json"

	"github.com/llm-router/router/shared/llm"
)

// Gemini wire types: only the fields the adapter writes or reads. Names and
// nesting follow googleapis/go-genai types.go and the REST reference; unknown
// fields in answers (safetyRatings, modelVersion, ...) are ignored on decode.

// generateContentRequest is the body of :generateContent and
// :streamGenerateContent. The model travels in the URL, never in the body.
type generateContentRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []tool            `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

// content is one turn. Role is "user" or "model"; systemInstruction has none.
type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

// part holds exactly one kind of data. ThoughtSignature is Gemini's opaque
// base64 text, relayed as received without decoding.
type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
}

// blob is inline media; Data is base64.
type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

// functionCall is a model's call. ID is optional on Gemini's side; Args is a
// JSON object (absent for a call without arguments).
type functionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// functionResponse answers a call by name (and by id when Gemini issued one).
type functionResponse struct {
	ID       string         `json:"id,omitempty"`
	Name     string         `json:"name"`
	Response functionOutput `json:"response"`
}

// functionOutput is the response object: Gemini requires an object and reads
// the result from "output".
type functionOutput struct {
	Output json.RawMessage `json:"output"`
}

type tool struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

// functionDeclaration carries the client's JSON Schema unchanged in
// parametersJsonSchema (parameters would need Gemini's OpenAPI subset).
type functionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

// functionCallingConfig modes: AUTO, ANY, NONE.
type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	MaxOutputTokens    int             `json:"maxOutputTokens,omitempty"`
	StopSequences      []string        `json:"stopSequences,omitempty"`
	CandidateCount     int             `json:"candidateCount,omitempty"`
	Seed               *int32          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ResponseMimeType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
}

// thinkingConfig sets a thinking model's effort: a budget in tokens
// (Gemini 2.5) or a level (Gemini 3), never both; includeThoughts asks for
// thought summaries in the answer.
type thinkingConfig struct {
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
}

// generateContentResponse is a whole answer, or one streamed event (whose
// parts are incremental). Error is set on an in-stream error event.
type generateContentResponse struct {
	Candidates     []candidate     `json:"candidates"`
	PromptFeedback *promptFeedback `json:"promptFeedback"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata"`
	ResponseID     string          `json:"responseId"`
	Error          *apiError       `json:"error"`
}

// candidate is one answer; Index is omitted by Gemini when it is 0.
type candidate struct {
	Content      *content `json:"content"`
	FinishReason string   `json:"finishReason"`
	Index        int      `json:"index"`
}

type promptFeedback struct {
	BlockReason string `json:"blockReason"`
}

// usageMetadata counts tokens. promptTokenCount includes the cached tokens.
type usageMetadata struct {
	PromptTokenCount        int `json:"promptTokenCount"`
	CandidatesTokenCount    int `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
	CachedContentTokenCount int `json:"cachedContentTokenCount"`
	ToolUsePromptTokenCount int `json:"toolUsePromptTokenCount"`
	TotalTokenCount         int `json:"totalTokenCount"`
}

// errorEnvelope is Google's error body: {"error":{code,message,status,details}}.
type errorEnvelope struct {
	Error *apiError `json:"error"`
}

type apiError struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Status  string        `json:"status"`
	Details []errorDetail `json:"details"`
}

// errorDetail is the union of the google.rpc detail types the adapter reads:
// ErrorInfo (reason) and RetryInfo (retryDelay, a protobuf Duration "30s").
type errorDetail struct {
	Type       string `json:"@type"`
	Reason     string `json:"reason"`
	RetryDelay string `json:"retryDelay"`
}

// batchEmbedRequest is the body of :batchEmbedContents; every request names
// the model of the URL.
type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embedRequest struct {
	Model                string  `json:"model"`
	Content              content `json:"content"`
	OutputDimensionality int     `json:"outputDimensionality,omitempty"`
}

type batchEmbedResponse struct {
	Embeddings []contentEmbedding `json:"embeddings"`
}

// contentEmbedding is one vector. Statistics is sent by Vertex only; when
// present its token count replaces the adapter's estimate.
type contentEmbedding struct {
	Values     []float32 `json:"values"`
	Statistics *struct {
		TokenCount float64 `json:"tokenCount"`
	} `json:"statistics"`
}

// OpenAI-side types for answers the adapter builds. They differ from the
// llm ones by carrying extra_content on tool calls.

type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   llm.Usage    `json:"usage"`
}

type chatChoice struct {
	Index        int         `json:"index"`
	Message      chatMessage `json:"message"`
	FinishReason string      `json:"finish_reason"`
	Logprobs     *struct{}   `json:"logprobs"` // always null: Gemini's logprobs are not requested
}

// chatMessage.Content is null when the model only called tools.
type chatMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	Refusal          *string    `json:"refusal"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
}

type toolCall struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Function     llm.FunctionCall `json:"function"`
	ExtraContent *extraContent    `json:"extra_content,omitempty"`
}

// extraContent is where Google's own OpenAI-compatible endpoint puts a tool
// call's thought signature; clients that echo assistant messages verbatim
// return it, and the adapter reads it back from the request body.
type extraContent struct {
	Google *googleExtra `json:"google,omitempty"`
}

type googleExtra struct {
	ThoughtSignature string `json:"thought_signature,omitempty"`
}
