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

const stopBits = 10

// stopTable is an open-addressing set of packed words with their language bits.
type stopTable struct {
	keys  [1 << stopBits]uint64
	masks [1 << stopBits]uint8
}

var stopwords = func() *stopTable {
	t := new(stopTable)
	for l, list := range stopLists {
		for _, w := range strings.Fields(list) {
			if len(w) > 8 {
				panic("textscan: stopword longer than 8 bytes: " + w)
			}
			t.insert(packWord(w), 1<<l)
		}
	}
	return t
}()

// packWord packs up to 8 bytes little-endian, as the scanner builds its key.
func packWord(w string) uint64 {
	var k uint64
	for i := 0; i < len(w) && i < 8; i++ {
		k |= uint64(w[i]) << (8 * i)
	}
	return k
}

func stopSlot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> (64 - stopBits) }

func (t *stopTable) insert(k uint64, mask uint8) {
	for i := stopSlot(k); ; i = (i + 1) & (1<<stopBits - 1) {
		if t.keys[i] == k || t.keys[i] == 0 {
			t.keys[i] = k
			t.masks[i] |= mask
			return
		}
	}
}

// lookup returns the languages of word k, 0 if it is no stopword.
func (t *stopTable) lookup(k uint64) uint8 {
	for i := stopSlot(k); ; i = (i + 1) & (1<<stopBits - 1) {
		switch t.keys[i] {
		case k:
			return t.masks[i]
		case 0:
			return 0
		}
	}
}
