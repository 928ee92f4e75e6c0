package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineBuffer is the read buffer of a stream: large enough for the usual
// server-sent event line in one read.
const lineBuffer = 16 << 10

// Lines reads a server-sent event stream line by line, without copying lines
// that fit the read buffer.
type Lines struct {
	r    *bufio.Reader
	long []byte // a line longer than the buffer, assembled
}

// NewLines reads lines from body.
func NewLines(body io.Reader) Lines {
	return Lines{r: bufio.NewReaderSize(body, lineBuffer)}
}

// Next returns the next line without its line ending; the slice is valid
// until the next call. A last line without a newline is returned before
// io.EOF.
func (l *Lines) Next() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.r.ReadSlice('\n')
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
