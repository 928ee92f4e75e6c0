//go:build !race

package openai

// raceEnabled: the race detector adds allocations of its own, so allocation
// counts are only compared without it.
const raceEnabled = false
