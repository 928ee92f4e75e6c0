package textscan

import "strings"

// stopLists are the commonest function words of each Latin-script language,
// lowercase, at most 8 bytes (longer words are never looked up). A word common
// to several languages votes for each of them; the distinct ones decide.
var stopLists = [NumLatinLangs]string{
	En: "the and of to is in that it for you was with on as have be at this are not but what from or by " +
		"they we can an which his her she he there been if will would about how my your do does please " +
		"me has had were their them than then when where who why all any into just also should could " +
		"these those our its some more no",
	Es: "el la los las de del y que en un una es por con para no se lo su al como más pero sus le ya o " +
		"este esta sí porque muy sin sobre también me hay donde quien desde todo nos cuando ser son fue " +
		"está están puedes podrías qué cómo mi tengo siempre algo otro",
	Fr: "le la les de des du un une et est en que qui dans pour pas sur au aux avec ce cette il elle ils " +
		"ne se sont par plus mais ou je vous nous on très être été son sa ses leur comme tout aussi avoir " +
		"fait même où à ça pouvez peux moi mon ma mes bien",
	De: "der die das und ist nicht ein eine einen dem den des zu mit von auf für sich auch es im in wie " +
		"bei aus nach wird werden sind war hat haben ich du sie wir ihr er aber oder noch nur kann kannst " +
		"bitte über dass wenn sehr schon mir mich dir dich zum zur vor um diese was",
	Pt: "o a os as de do da dos das e em um uma que não para com por no na nos nas se é mais mas como ao " +
		"ele ela foi são está você eu meu minha isso este esta também já muito pode sobre quando tem ou " +
		"seu sua pelo pela ainda então até",
	It: "il lo la i gli le di del della dei che e è un una uno per in non con su da al alla si come ma " +
		"più anche sono questo questa mi ti ci ha ho nel nella se o molto cosa perché quando tra fra " +
		"essere già così qual",
	Nl: "de het een en van in is dat op te die niet met zijn voor er aan ook als maar om bij nog wat naar " +
		"dan wordt worden kan kun je jij ik we wij hij zij ze mijn heeft hebben was door over uit tot " +
		"deze dit geen al wel zo of mij",
}

// stopTable maps a packed word to its language bits without a branch that
// depends on the word: 1024 buckets of two slots, a multiplicative hash that
// puts at most two stopwords in a bucket, and both slots compared. A lookup
// per word is on the hot path of every request.
type stopTable struct {
	mul   uint64
	keys  [1 << stopBits][2]uint64
	masks [1 << stopBits][2]uint8
}

const stopBits = 10

// stopMul is a multiplier for which no bucket holds more than two of the
// stopwords (TestStopwordTable); if the lists change and it no longer is,
// the table searches for another at start-up.
const stopMul = 0xf296c2ce76184de5

var stopwords = func() *stopTable {
	var words []uint64
	var masks []uint8
	index := map[uint64]int{}
	for l, list := range stopLists {
		for _, w := range strings.Fields(list) {
			if len(w) > 8 {
				panic("textscan: stopword longer than 8 bytes: " + w)
			}
			k := packWord(w)
			if i, ok := index[k]; ok {
				masks[i] |= 1 << l
				continue
			}
			index[k] = len(words)
			words = append(words, k)
			masks = append(masks, 1<<l)
		}
	}
	for mul := uint64(stopMul); ; mul += 0x9E3779B97F4A7C16 {
		if t := buildStopTable(mul, words, masks); t != nil {
			return t
		}
	}
}()

// buildStopTable returns the table for mul, nil if a bucket overflows.
func buildStopTable(mul uint64, words []uint64, masks []uint8) *stopTable {
	t := &stopTable{mul: mul}
	for i, k := range words {
		b := (k * mul) >> (64 - stopBits)
		switch {
		case t.keys[b][0] == 0:
			t.keys[b][0], t.masks[b][0] = k, masks[i]
		case t.keys[b][1] == 0:
			t.keys[b][1], t.masks[b][1] = k, masks[i]
		default:
			return nil
		}
	}
	return t
}

// packWord packs up to 8 bytes little-endian, as the scanner builds its key.
func packWord(w string) uint64 {
	var k uint64
	for i := 0; i < len(w) && i < 8; i++ {
		k |= uint64(w[i]) << (8 * i)
	}
	return k
}

// lookup returns the languages of word k, 0 if it is no stopword.
func (t *stopTable) lookup(k uint64) uint8 {
	b := (k * t.mul) >> (64 - stopBits)
	keys, masks := &t.keys[b], &t.masks[b]
	return masks[0]&equal(keys[0], k) | masks[1]&equal(keys[1], k)
}

// equal is 0xff if a == b, else 0, without a branch.
func equal(a, b uint64) uint8 {
	d := a ^ b
	return uint8(((d|-d)>>63)^1) * 0xff
}

// stopLanes[m] adds one to the 9-bit lane of each language in m, so that a
// word's stopword hits are counted with one addition; Scan unpacks the lanes
// every 256 words, before one could overflow.
var stopLanes = func() (t [1 << NumLatinLangs]uint64) {
	for m := range t {
		for l := range NumLatinLangs {
			if m&(1<<l) != 0 {
				t[m] += 1 << (9 * l)
			}
		}
	}
	return t
}()

// addLanes adds packed lane counts to st.Stop.
func addLanes(st *Stats, lanes uint64) {
	for l := range NumLatinLangs {
		st.Stop[l] += int(lanes >> (9 * l) & 0x1ff)
	}
}
