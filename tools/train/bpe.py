"""A byte-level BPE tokenizer built from GPT-2's merges, truncated to the first K merges.

Keeping the 256 byte tokens plus the first K merges (and the tokens they produce) is still a valid
BPE because merges are applied in rank order; the token ids stay GPT-2's own (merge r -> id 256 + r).
Writes `tokenizer.json` / `tokenizer_config.json` in the Hugging Face `tokenizers` format and encodes
text in Python exactly like that format's ByteLevel pre-tokenizer + BPE model do.
"""
import json
import re
import unicodedata

EOT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


# GPT-2's split pattern, as it appears in tokenizer.json (Oniguruma syntax with \p classes).
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def _python_pattern(text):
    """The GPT-2 pattern for Python's `re` (which lacks \\p{..}): \\p{L} and \\p{N} are spelled out as
    explicit classes of the letters and numbers that occur in `text` (plus ASCII), so the split is
    exact for that text. Only ' ' and '\\n' may occur as whitespace (checked)."""
    chars = set(text)
    for ch in chars:
        if ch.isspace() and ch not in " \n":
            raise ValueError(f"unsupported whitespace character U+{ord(ch):04X} in text")
        if unicodedata.category(ch).startswith("C") and ch != "\n":
            raise ValueError(f"control character U+{ord(ch):04X} in text")
    letters = {c for c in chars if unicodedata.category(c).startswith("L")}
    numbers = {c for c in chars if unicodedata.category(c).startswith("N")}
    letters |= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    numbers |= set("0123456789")
    esc = lambda s: "".join(re.escape(c) for c in sorted(s))
    L, N = esc(letters), esc(numbers)
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^\s{L}{N}]+|\s+(?!\S)|\s+"
    )


class ByteLevelBPE:
    def __init__(self, vocab, merges, eot_id):
        self.vocab, self.merges, self.eot_id = vocab, merges, eot_id
        self.vocab_size = eot_id + 1
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self.byte_map = bytes_to_unicode()
        self.cache = {}

    @classmethod
    def gpt2_truncated(cls, encoder_json, vocab_bpe, num_merges):
        """GPT-2's 256 byte tokens + its first `num_merges` merges; <|endoftext|> gets id 256 + num_merges."""
        enc = json.load(open(encoder_json, encoding="utf-8"))
        lines = open(vocab_bpe, encoding="utf-8").read().split("\n")
        merges = [tuple(l.split(" ")) for l in lines[1:] if l]  # line 0 is "#version"
        if num_merges > len(merges):
            raise ValueError(f"only {len(merges)} merges available, asked for {num_merges}")
        merges = merges[:num_merges]
        vocab = {tok: i for tok, i in enc.items() if i < 256 + num_merges}
        for r, (a, b) in enumerate(merges):
            assert vocab[a + b] == 256 + r, "GPT-2 merge ids are expected to be 256 + rank"
        return cls(vocab, merges, 256 + num_merges)

    @classmethod
    def load(cls, tokenizer_json):
        """Read back a tokenizer.json written by `save`."""
        j = json.load(open(tokenizer_json, encoding="utf-8"))
        vocab = {k: v for k, v in j["model"]["vocab"].items() if k != EOT}
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in j["model"]["merges"]]
        eot = [t["id"] for t in j["added_tokens"] if t["content"] == EOT]
        return cls(vocab, merges, eot[0])

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = parts[best], parts[best + 1]
            out, i = [], 0
            while i < len(parts):  # merge every occurrence of (a, b), left to right
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def pretokenize(self, text):
        return _python_pattern(text).findall(text)

    def encode(self, text):
        """Token ids of `text`; no BOS/EOS is added (tokenizer_config: add_bos_token false)."""
        ids = []
        for piece in self.pretokenize(text):
            word = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            ids.extend(self._bpe(word))
        return ids

    def decode(self, ids):
        inv = {v: k for k, v in self.vocab.items()}
        back = {c: b for b, c in self.byte_map.items()}
        return bytes(back[c] for i in ids for c in inv[i]).decode("utf-8", errors="replace")

    def tokenizer_json(self):
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self.eot_id, "content": EOT, "single_word": False, "lstrip": False,
                 "rstrip": False, "normalized": True, "special": True}
            ],
            "normalizer": None,
            "pre_tokenizer": byte_level,
            "post_processor": {**byte_level, "trim_offsets": False},
            "decoder": byte_level,
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": {**dict(sorted(self.vocab.items(), key=lambda kv: kv[1])), EOT: self.eot_id},
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    def tokenizer_config(self, max_length):
        return {
            "add_bos_token": False,
            "add_eos_token": False,
            "add_prefix_space": False,
            "added_tokens_decoder": {
                str(self.eot_id): {"content": EOT, "lstrip": False, "normalized": True, "rstrip": False,
                                   "single_word": False, "special": True}
            },
            "bos_token": EOT,
            "clean_up_tokenization_spaces": False,
            "eos_token": EOT,
            "errors": "replace",
            "model_max_length": max_length,
            "pad_token": EOT,
            "tokenizer_class": "GPT2Tokenizer",
            "unk_token": EOT,
        }

    def save(self, folder, max_length):
        with open(f"{folder}/tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_json(), f, ensure_ascii=False, indent=2)
            f.write("\n")
        with open(f"{folder}/tokenizer_config.json", "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_config(max_length), f, indent=2)
            f.write("\n")
