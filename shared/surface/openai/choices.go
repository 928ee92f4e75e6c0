package openai

import (
	"errors"
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// errNotCompletion is returned for an answer without a choices array.
var errNotCompletion = errors.New("choices: the answer is not a JSON object with a choices array")

// AppendMerged appends to dst one chat.completion made of the answers of n
// calls that together serve a request with n > 1: the first answer's members
// (id, created, model, system_fingerprint, …) in their order, every answer's
// choices in turn with index renumbered 0..n-1, and usage the sum of the
// answers' usages, which it also returns for metering.
//
// Prompt tokens are summed, so a prompt counts once per call. OpenAI's own n
// counts the prompt once, but each of these calls was billed for it; usage that
// says what was spent keeps the client's figures, the router's cost and the
// providers' bills in agreement.
func AppendMerged(dst []byte, answers []llm.Response) ([]byte, llm.Usage, error) {
	var total llm.Usage
	for _, a := range answers {
		total = total.Add(a.Usage)
	}
	if len(answers) == 0 {
		return dst, total, errNotCompletion
	}
	first := answers[0].Body
	m := rawjson.MembersOf(first)
	wrote, sawChoices := false, false
	dst = append(dst, '{')
	for m.Next() {
		key := m.Key()
		switch string(key) {
		case "usage":
			continue // written last, summed
		case "choices":
			sawChoices = true
		}
		if wrote {
			dst = append(dst, ',')
		}
		wrote = true
		dst = append(dst, '"')
		dst = append(dst, key...)
		dst = append(dst, '"', ':')
		if string(key) != "choices" {
			dst = append(dst, m.Value()...)
			continue
		}
		var err error
		if dst, err = appendAllChoices(dst, answers); err != nil {
			return dst, total, err
		}
	}
	if m.Err() != nil || !sawChoices {
		return dst, total, errNotCompletion
	}
	u, _ := total.MarshalJSON()
	if wrote {
		dst = append(dst, ',')
	}
	dst = append(dst, `"usage":`...)
	dst = append(dst, u...)
	return append(dst, '}'), total, nil
}

// appendAllChoices writes the choices of every answer as one array.
func appendAllChoices(dst []byte, answers []llm.Response) ([]byte, error) {
	dst = append(dst, '[')
	index := 0
	for _, a := range answers {
		choices, ok := rawjson.Find(a.Body, "choices")
		if !ok || len(choices) == 0 || choices[0] != '[' {
			return dst, errNotCompletion
		}
		els := rawjson.ElementsOf(choices)
		for els.Next() {
			if index > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendWithIndex(dst, els.Value(), index); err != nil {
				return dst, err
			}
			index++
		}
		if els.Err() != nil {
			return dst, errNotCompletion
		}
	}
	return append(dst, ']'), nil
}

// appendWithIndex copies a choice object with its index member set to index
// (added first when it has none).
func appendWithIndex(dst, choice []byte, index int) ([]byte, error) {
	m := rawjson.MembersOf(choice)
	for m.Next() {
		if string(m.Key()) == "index" {
			dst = append(dst, choice[:m.Start()]...)
			dst = strconv.AppendInt(dst, int64(index), 10)
			return append(dst, choice[m.End():]...), nil
		}
	}
	if m.Err() != nil {
		return dst, errNotCompletion
	}
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendInt(dst, int64(index), 10)
	if emptyObject(choice) {
		return append(dst, '}'), nil
	}
	dst = append(dst, ',')
	return append(dst, choice[1:]...), nil // a value starts at its '{'
}

// emptyObject reports whether obj is {} (with any spacing).
func emptyObject(obj []byte) bool {
	m := rawjson.MembersOf(obj)
	return !m.Next() && m.Err() == nil
}

// AppendChunkAs appends to dst a copy of a chat.completion.chunk whose id is
// set to id (unless id is empty) and whose choices all have index index. When
// n streams serve one request with n > 1, each stream's chunks are relayed
// through it with the stream's number as index and one id for all: clients
// (openai-go's ChatCompletionAccumulator among them) drop chunks whose id
// differs from the first one's. A chunk with no choices (the usage chunk) only
// has its id set.
func AppendChunkAs(dst, chunk []byte, id string, index int) ([]byte, error) {
	m := rawjson.MembersOf(chunk)
	from := 0
	for m.Next() {
		switch string(m.Key()) {
		case "id":
			if id == "" {
				continue
			}
			dst = append(dst, chunk[from:m.Start()]...)
			dst = rawjson.AppendString(dst, id)
			from = m.End()
		case "choices":
			v := m.Value()
			if v[0] != '[' {
				continue
			}
			dst = append(dst, chunk[from:m.Start()]...)
			dst = append(dst, '[')
			els := rawjson.ElementsOf(v)
			for n := 0; els.Next(); n++ {
				if n > 0 {
					dst = append(dst, ',')
				}
				var err error
				if dst, err = appendWithIndex(dst, els.Value(), index); err != nil {
					return dst, err
				}
			}
			if els.Err() != nil {
				return dst, errNotCompletion
			}
			dst = append(dst, ']')
			from = m.End()
		}
	}
	if m.Err() != nil {
		return dst, errors.New("choices: the chunk is not a JSON object")
	}
	return append(dst, chunk[from:]...), nil
}
