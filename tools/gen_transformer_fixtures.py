#!/usr/bin/python3
"""Generate transformer test fixtures for semcode (issue 6).

Run with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 tools/gen_transformer_fixtures.py small  [OUT]   # tests/fixtures/transformer
    /usr/bin/python3 tools/gen_transformer_fixtures.py minilm OUT [--onnx FILE] [--corpus TEXTS]

Each model directory is laid out as Hugging Face / sentence-transformers
publish it (config.json, model.safetensors, tokenizer.json or vocab.txt,
modules.json, 1_Pooling/config.json, sentence_bert_config.json) and holds
expected.json: the test corpus, the token ids this script's own tokenizer
produces, and the embeddings of a forward pass written directly in PyTorch
(float64, from the same stored weights). Nothing here uses `transformers`
or `tokenizers`; the tokenizers below are written from the published
behaviour of the Hugging Face BertNormalizer / BertPreTokenizer / WordPiece
and ByteLevel / BPE components, independently of the C implementation.

Weights are random (fixed seeds) with a larger spread than a trained model
so that the embeddings of different texts differ clearly.
"""
import json
import math
import os
import struct
import sys
import unicodedata

import torch

# ---------------------------------------------------------------- corpus

CORPUS = [
    "def parse_config(path): return json.load(open(path))",
    "Hello, World! How are you?",
    "Café naïve résumé Ångström façade Crème brûlée",
    "ÀÉÎÕÜ àéîõü ñ Ñ ç Ç ø Ø ß",
    "中文字符测试 and 日本語のテキスト mixed with English",
    "한국어 텍스트 and العربية text and русский текст",
    "emoji 😀 🎉 👍🏽 👨‍👩‍👧 ✨ ❤️ in a sentence",
    "punctuation!!! ... ??? --- (a) [b] {c} <d> \"e\" 'f' `g` ~h^ |i| \\j/ @k #l $m %n &o *p +q =r",
    "tabs\tand\nnewlines\r\nand  multiple   spaces",
    "control\x01chars\x07here\u200bzero\u200dwidth\ufeffbom",
    "supercalifragilisticexpialidocious" * 4,
    "a" * 150 + " short words after a very long one",
    "ThisIsAVeryLongCamelCaseIdentifierThatKeepsGoingAndGoingForeverAndEverWithoutStopping",
    "snake_case_identifier_with_many_parts_and_numbers_12345_67890",
    "numbers 3.14159 2,718 1e-10 0xDEADBEEF 42nd 1st",
    "It's they're we've I'm you'll he'd can't won't",
    "   leading and trailing spaces   ",
    "",
    "x",
    "the quick brown fox jumps over the lazy dog " * 12,
    "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY name;",
    "special [MASK] token and <mask> token and [CLS] inside",
    "Ünïcödé ﬁ ligature ＦＵＬＬＷＩＤＴＨ ① ² ½ ™ €100 £5 ¥",
    "mixed\u00a0nbsp\u2003em-space\u3000ideographic space",
    "Ελληνικά κείμενο ΣΊΣΥΦΟΣ and Ἀθῆναι",
    "quoted “smart” ‘quotes’ — dashes – and … ellipsis « guillemets »",
    "path/to/file.py:42: error: undefined name 'foo'",
    "https://example.com/search?q=semantic+code&lang=c#section",
    "over-long input: " + " ".join("token%d" % i for i in range(400)),
]


def cat(c):
    return unicodedata.category(c)


WHITE_SPACE = set([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
                  + list(range(0x2000, 0x200B)))


def is_ws(c):
    return ord(c) in WHITE_SPACE


# ---------------------------------------------------------------- WordPiece reference

def bert_normalize(text, lowercase=True):
    out = []
    for c in text:
        o = ord(c)
        if o == 0 or o == 0xFFFD:
            continue
        if c not in "\t\n\r" and cat(c) in ("Cc", "Cf", "Cn", "Co"):
            continue
        if is_ws(c):
            c = " "
        cjk = (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF or 0x2A700 <= o <= 0x2B73F
               or 0x2B740 <= o <= 0x2B81F or 0x2B820 <= o <= 0x2CEAF or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F)
        if cjk:
            out.append(" " + c + " ")
        else:
            out.append(c)
    s = "".join(out)
    if lowercase:  # strip_accents follows lowercase; NFD first, then lower
        s = "".join(c for c in unicodedata.normalize("NFD", s) if cat(c) != "Mn")
        s = "".join(c.lower() for c in s)  # per character, as the reference (no final-sigma rule)
    return s


def is_bert_punct(c):
    o = ord(c)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return cat(c).startswith("P")


def bert_pretokenize(s):
    words, cur = [], []
    for c in s:
        if is_ws(c):
            if cur:
                words.append("".join(cur))
            cur = []
        elif is_bert_punct(c):
            if cur:
                words.append("".join(cur))
            cur = []
            words.append(c)
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def wordpiece_word(word, vocab, unk, max_chars=100):
    if len(word) > max_chars:
        return [vocab[unk]]
    ids, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while end > start:
            piece = word[start:end]
            if start > 0:
                piece = "##" + piece
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab[unk]]
        ids.append(found)
        start = end
    return ids


def split_added(text, added):
    """Split raw text at added tokens (longest match first); yields (is_added, str)."""
    out, seg, i = [], 0, 0
    while i < len(text):
        best = None
        for a in added:
            if text.startswith(a, i) and (best is None or len(a) > len(best)):
                best = a
        if best:
            if i > seg:
                out.append((False, text[seg:i]))
            out.append((True, best))
            i += len(best)
            seg = i
        else:
            i += 1
    if seg < len(text):
        out.append((False, text[seg:]))
    return out


def wordpiece_encode(text, vocab, added, max_len):
    body = []
    for is_added, part in split_added(text, added):
        if is_added:
            body.append(vocab[part])
            continue
        for w in bert_pretokenize(bert_normalize(part)):
            body.extend(wordpiece_word(w, vocab, "[UNK]"))
    body = body[: max_len - 2]
    return [vocab["[CLS]"]] + body + [vocab["[SEP]"]]


def build_wordpiece_vocab():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars, words = set(), {}
    for t in CORPUS:
        for w in bert_pretokenize(bert_normalize(t)):
            for c in w:
                chars.add(c)
            words[w] = words.get(w, 0) + 1
    # Leave a few characters out so that some words become [UNK].
    chars.discard("ø")
    chars.discard("∑")
    vocab = list(specials)
    for c in sorted(chars):
        vocab.append(c)
    for c in sorted(chars):
        if c.isalnum():
            vocab.append("##" + c)
    frequent = sorted(w for w, n in words.items() if n >= 1 and 3 <= len(w) <= 8 and w.isalpha())[:120]
    for w in frequent:
        if w not in vocab:
            vocab.append(w)
    for piece in ["##ing", "##tion", "##er", "##ed", "##s", "##ly", "##ent", "##ation", "##ize", "##ous",
                  "super", "##cal", "##if", "##rag", "##il", "##istic", "##ex", "##pi", "##ali", "##doc", "##ious",
                  "token", "##1", "##2", "##3", "##12", "##34", "##0"]:
        if piece not in vocab:
            vocab.append(piece)
    return {t: i for i, t in enumerate(vocab)}, vocab


# ---------------------------------------------------------------- byte-level BPE reference

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_MAP = bytes_to_unicode()


def gpt2_class(c):
    if is_ws(c):
        return "S"
    k = cat(c)
    if k[0] == "L":
        return "L"
    if k[0] == "N":
        return "N"
    return "O"


def gpt2_pretokenize(text):
    """The GPT-2 pattern, scanned by hand (Python's re has no \\p{L})."""
    pieces, k, n = [], 0, len(text)
    cl = [gpt2_class(c) for c in text]
    while k < n:
        e = 0
        if text[k] == "'" and k + 1 < n:
            a, b = text[k + 1], text[k + 2] if k + 2 < n else ""
            if a in "stmd":
                e = k + 2
            elif a + b in ("re", "ve", "ll"):
                e = k + 3
        if not e:
            j = k
            if text[k] == " " and k + 1 < n and cl[k + 1] != "S":
                j = k + 1
            if cl[j] != "S":
                e = j + 1
                while e < n and cl[e] == cl[j]:
                    e += 1
            else:
                e = k + 1
                while e < n and cl[e] == "S":
                    e += 1
                if e < n and e - k >= 2:
                    e -= 1
        pieces.append(text[k:e])
        k = e
    return pieces


def bpe_word(symbols, ranks):
    while len(symbols) > 1:
        best, bi = None, None
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best):
                best, bi = r, i
        if best is None:
            break
        a, b = symbols[bi], symbols[bi + 1]
        out, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(symbols[i])
                i += 1
        symbols = out
    return symbols


def bpe_encode(text, vocab, ranks, added, max_len):
    body = []
    for is_added, part in split_added(text, added):
        if is_added:
            body.append(vocab[part])
            continue
        for p in gpt2_pretokenize(part):
            syms = [BYTE_MAP[b] for b in p.encode("utf-8")]
            for s in bpe_word(syms, ranks):
                body.append(vocab[s])
    body = body[: max_len - 2]
    return [vocab["<s>"]] + body + [vocab["</s>"]]


def train_bpe(n_merges):
    words = {}
    for t in CORPUS:
        for p in gpt2_pretokenize(t):
            w = tuple(BYTE_MAP[b] for b in p.encode("utf-8"))
            words[w] = words.get(w, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, n in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] = pairs.get((w[i], w[i + 1]), 0) + n
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        if pairs[best] < 2:
            break
        merges.append(best)
        nw = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + n
        words = nw
    vocab = ["<s>", "<pad>", "</s>", "<unk>"]
    for b in range(256):
        vocab.append(BYTE_MAP[b])
    for a, b in merges:
        if a + b not in vocab:
            vocab.append(a + b)
    vocab.append("<mask>")
    return {t: i for i, t in enumerate(vocab)}, vocab, merges


# ---------------------------------------------------------------- model, weights, files

def make_weights(cfg, seed, spread=0.3):
    g = torch.Generator().manual_seed(seed)
    H, F, V, P, T = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"], cfg["type_vocab_size"]

    def rn(*shape, s=spread):
        return torch.randn(*shape, generator=g) * s

    w = {
        "embeddings.word_embeddings.weight": rn(V, H, s=1.0),
        "embeddings.position_embeddings.weight": rn(P, H, s=0.5),
        "embeddings.token_type_embeddings.weight": rn(T, H, s=0.5),
        "embeddings.LayerNorm.weight": 1.0 + rn(H, s=0.1),
        "embeddings.LayerNorm.bias": rn(H, s=0.1),
    }
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l
        for n in ("query", "key", "value"):
            w[p + "attention.self.%s.weight" % n] = rn(H, H, s=1.0 / math.sqrt(H))
            w[p + "attention.self.%s.bias" % n] = rn(H, s=0.1)
        w[p + "attention.output.dense.weight"] = rn(H, H, s=1.0 / math.sqrt(H))
        w[p + "attention.output.dense.bias"] = rn(H, s=0.1)
        w[p + "attention.output.LayerNorm.weight"] = 1.0 + rn(H, s=0.1)
        w[p + "attention.output.LayerNorm.bias"] = rn(H, s=0.1)
        w[p + "intermediate.dense.weight"] = rn(F, H, s=1.0 / math.sqrt(H))
        w[p + "intermediate.dense.bias"] = rn(F, s=0.1)
        w[p + "output.dense.weight"] = rn(H, F, s=1.0 / math.sqrt(F))
        w[p + "output.dense.bias"] = rn(H, s=0.1)
        w[p + "output.LayerNorm.weight"] = 1.0 + rn(H, s=0.1)
        w[p + "output.LayerNorm.bias"] = rn(H, s=0.1)
    w["pooler.dense.weight"] = rn(H, H)
    w["pooler.dense.bias"] = rn(H)
    return w


DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def write_safetensors(path, tensors, dtype, prefix=""):
    """Write tensors (name -> float tensor) in dtype; return them as stored (rounded), upcast to float64."""
    tdt, _ = DTYPES[dtype]
    header, blobs, off, stored = {"__metadata__": {"format": "pt"}}, [], 0, {}
    for name in sorted(tensors):
        t = tensors[name].to(tdt).contiguous()
        stored[name] = t.to(torch.float64)
        raw = t.view(torch.int16).numpy().tobytes() if tdt == torch.bfloat16 else t.numpy().tobytes()
        header[prefix + name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return stored


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * g + b


def reference_forward(w, cfg, ids, roberta, pool, normalize):
    """One sequence, no padding: the encoder written out in float64."""
    H, NH = cfg["hidden_size"], cfg["num_attention_heads"]
    D, eps = H // NH, cfg["layer_norm_eps"]
    ids_t = torch.tensor(ids, dtype=torch.long)
    n = len(ids)
    if roberta:  # positions count from padding_idx + 1 for non-pad tokens
        pos = torch.arange(n) + cfg["pad_token_id"] + 1
    else:
        pos = torch.arange(n)
    x = w["embeddings.word_embeddings.weight"][ids_t] + w["embeddings.position_embeddings.weight"][pos] \
        + w["embeddings.token_type_embeddings.weight"][torch.zeros(n, dtype=torch.long)]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l

        def lin(v, name):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin(x, "attention.self.query").view(n, NH, D).transpose(0, 1)
        k = lin(x, "attention.self.key").view(n, NH, D).transpose(0, 1)
        v = lin(x, "attention.self.value").view(n, NH, D).transpose(0, 1)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(D), dim=-1)
        ctx = (att @ v).transpose(0, 1).reshape(n, H)
        x = layer_norm(lin(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        hmid = lin(x, "intermediate.dense")
        hmid = 0.5 * hmid * (1.0 + torch.erf(hmid / math.sqrt(2.0)))
        x = layer_norm(lin(hmid, "output.dense") + x, w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    if pool == "mean":
        e = x.mean(0)
    elif pool == "cls":
        e = x[0]
    else:
        e = x[-1]
    if normalize:
        e = e / e.norm()
    return e


def write_st_files(d, pool, normalize, max_seq):
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    json.dump(mods, open(os.path.join(d, "modules.json"), "w"), indent=2)
    json.dump({"word_embedding_dimension": 0, "pooling_mode_cls_token": pool == "cls",
               "pooling_mode_mean_tokens": pool == "mean", "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
               "pooling_mode_lasttoken": pool == "last"}, open(os.path.join(d, "1_Pooling", "config.json"), "w"), indent=2)
    if max_seq:
        json.dump({"max_seq_length": max_seq, "do_lower_case": False},
                  open(os.path.join(d, "sentence_bert_config.json"), "w"), indent=2)


def wordpiece_tokenizer_json(vocab_list):
    vocab = {t: i for i, t in enumerate(vocab_list)}
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [], "special_tokens": {
                               "[CLS]": {"id": "[CLS]", "ids": [vocab["[CLS]"]], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [vocab["[SEP]"]], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def bpe_tokenizer_json(vocab_list, merges, merges_as_pairs):
    vocab = {t: i for i, t in enumerate(vocab_list)}
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]], "cls": ["<s>", vocab["<s>"]],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [[a, b] for a, b in merges] if merges_as_pairs else ["%s %s" % (a, b) for a, b in merges]},
    }


def bert_config(vocab_size, H, L, NH, F, P, model_type="bert", pad=0):
    return {"architectures": ["BertModel" if model_type == "bert" else "RobertaModel"], "model_type": model_type,
            "hidden_size": H, "num_hidden_layers": L, "num_attention_heads": NH, "intermediate_size": F,
            "hidden_act": "gelu", "max_position_embeddings": P, "type_vocab_size": 2 if model_type == "bert" else 1,
            "vocab_size": vocab_size, "layer_norm_eps": 1e-12 if model_type == "bert" else 1e-5,
            "pad_token_id": pad, "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "torch_dtype": "float32"}


def emit(d, cfg, dtype, seed, texts, ids, roberta, pool, normalize, prefix=""):
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    w = make_weights(cfg, seed)
    stored = write_safetensors(os.path.join(d, "model.safetensors"), w, dtype, prefix)
    embs = []
    with torch.no_grad():
        for t in ids:
            e = reference_forward(stored, cfg, t, roberta, pool, normalize)
            embs.append([round(float(v), 7) for v in e])
    json.dump({"texts": texts, "ids": ids, "embeddings": embs}, open(os.path.join(d, "expected.json"), "w"),
              ensure_ascii=False)


def gen_small(out):
    wp_vocab, wp_list = build_wordpiece_vocab()
    bpe_vocab, bpe_list, merges = train_bpe(300)
    ranks = {m: i for i, m in enumerate(merges)}

    # 1. BERT, f32, tokenizer.json, mean pooling + Normalize, max_seq_length 32.
    d = os.path.join(out, "bert")
    os.makedirs(d, exist_ok=True)
    json.dump(wordpiece_tokenizer_json(wp_list), open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False)
    write_st_files(d, "mean", True, 32)
    ids = [wordpiece_encode(t, wp_vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], 32) for t in CORPUS]
    emit(d, bert_config(len(wp_list) + 3, 32, 2, 4, 64, 40), "F32", 1, CORPUS, ids, False, "mean", True)

    # 2. RoBERTa, f16, byte-level BPE (merges as [a, b] pairs), CLS pooling, prefix "roberta.", no
    #    sentence_bert_config (max length from max_position_embeddings - pad - 1 = 48).
    d = os.path.join(out, "roberta")
    os.makedirs(d, exist_ok=True)
    json.dump(bpe_tokenizer_json(bpe_list, merges, True), open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False)
    write_st_files(d, "cls", False, 0)
    cfg = bert_config(len(bpe_list), 32, 2, 4, 64, 50, "roberta", 1)
    ids = [bpe_encode(t, bpe_vocab, ranks, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], 48) for t in CORPUS]
    emit(d, cfg, "F16", 2, CORPUS, ids, True, "cls", False, prefix="roberta.")

    # 3. BERT, bf16, vocab.txt only (no tokenizer.json), last-token pooling, no modules.json
    #    Normalize, max_seq_length 24.
    d = os.path.join(out, "bert_vocab_bf16")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(wp_list) + "\n")
    json.dump({"do_lower_case": True}, open(os.path.join(d, "tokenizer_config.json"), "w"))
    write_st_files(d, "last", False, 24)
    ids = [wordpiece_encode(t, wp_vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], 24) for t in CORPUS]
    emit(d, bert_config(len(wp_list), 32, 1, 2, 48, 30), "BF16", 3, CORPUS, ids, False, "last", False)

    # 4. The same BPE tokenizer through vocab.json + merges.txt (tokens only, checked by the test).
    d = os.path.join(out, "bpe_files")
    os.makedirs(d, exist_ok=True)
    json.dump(bpe_vocab, open(os.path.join(d, "vocab.json"), "w"), ensure_ascii=False)
    with open(os.path.join(d, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join("%s %s\n" % m for m in merges))


def corpus_vocab(path, size):
    """A WordPiece vocabulary like a trained one in coverage: the characters and the most frequent words of a corpus."""
    chars, words = {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for w in bert_pretokenize(bert_normalize(line)):
                words[w] = words.get(w, 0) + 1
                for c in w:
                    chars[c] = chars.get(c, 0) + 1
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    keep = sorted(c for c, n in chars.items() if n >= 3)
    vocab += keep + ["##" + c for c in keep]
    seen = set(vocab)
    for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if w not in seen and len(w) > 1:
            vocab.append(w)
            seen.add(w)
    return {t: i for i, t in enumerate(vocab)}, vocab


def gen_minilm(out, onnx_path=None, corpus=None):
    """all-MiniLM-L6-v2 shape: 6 layers, hidden 384, 12 heads, FFN 1536, vocab 30522, 512 positions."""
    wp_vocab, wp_list = corpus_vocab(corpus, 30522) if corpus else build_wordpiece_vocab()
    os.makedirs(out, exist_ok=True)
    json.dump(wordpiece_tokenizer_json(wp_list), open(os.path.join(out, "tokenizer.json"), "w"), ensure_ascii=False)
    write_st_files(out, "mean", True, 256)
    cfg = bert_config(30522, 384, 6, 12, 1536, 512)
    texts = CORPUS
    ids = [wordpiece_encode(t, wp_vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], 256) for t in texts]
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
    w = make_weights(cfg, 6, spread=0.05)
    stored = write_safetensors(os.path.join(out, "model.safetensors"), w, "F32")
    embs = []
    with torch.no_grad():
        for t in ids:
            embs.append([round(float(v), 7) for v in reference_forward(stored, cfg, t, False, "mean", True)])
    json.dump({"texts": texts, "ids": ids, "embeddings": embs}, open(os.path.join(out, "expected.json"), "w"),
              ensure_ascii=False)
    if onnx_path:
        export_onnx({k: v.to(torch.float32) for k, v in stored.items()}, cfg, onnx_path)


class Encoder(torch.nn.Module):
    """The reference encoder as a module for torch.onnx.export (padded batch with a mask, mean pooling)."""

    def __init__(self, w, cfg):
        super().__init__()
        self.cfg = cfg
        self.w = torch.nn.ParameterDict({k.replace(".", "_"): torch.nn.Parameter(v, requires_grad=False)
                                         for k, v in w.items()})

    def g(self, name):
        return self.w[name.replace(".", "_")]

    def forward(self, input_ids, attention_mask):
        cfg = self.cfg
        H, NH = cfg["hidden_size"], cfg["num_attention_heads"]
        D, eps = H // NH, cfg["layer_norm_eps"]
        B, n = input_ids.shape
        pos = torch.arange(n).unsqueeze(0)
        x = self.g("embeddings.word_embeddings.weight")[input_ids] + self.g("embeddings.position_embeddings.weight")[pos] \
            + self.g("embeddings.token_type_embeddings.weight")[0]
        x = torch.nn.functional.layer_norm(x, (H,), self.g("embeddings.LayerNorm.weight"), self.g("embeddings.LayerNorm.bias"), eps)
        bias = (1.0 - attention_mask.to(torch.float32))[:, None, None, :] * -1e9
        for l in range(cfg["num_hidden_layers"]):
            p = "encoder.layer.%d." % l

            def lin(v, name):
                return torch.nn.functional.linear(v, self.g(p + name + ".weight"), self.g(p + name + ".bias"))

            q = lin(x, "attention.self.query").view(B, n, NH, D).transpose(1, 2)
            k = lin(x, "attention.self.key").view(B, n, NH, D).transpose(1, 2)
            v = lin(x, "attention.self.value").view(B, n, NH, D).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(D) + bias, dim=-1)
            ctx = (att @ v).transpose(1, 2).reshape(B, n, H)
            x = torch.nn.functional.layer_norm(lin(ctx, "attention.output.dense") + x, (H,),
                                               self.g(p + "attention.output.LayerNorm.weight"),
                                               self.g(p + "attention.output.LayerNorm.bias"), eps)
            hmid = torch.nn.functional.gelu(lin(x, "intermediate.dense"))
            x = torch.nn.functional.layer_norm(lin(hmid, "output.dense") + x, (H,), self.g(p + "output.LayerNorm.weight"),
                                               self.g(p + "output.LayerNorm.bias"), eps)
        m = attention_mask.to(torch.float32).unsqueeze(-1)
        e = (x * m).sum(1) / m.sum(1)
        return e / e.norm(dim=-1, keepdim=True)


def export_onnx(w, cfg, path):
    model = Encoder(w, cfg).eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                      output_names=["embedding"], opset_version=14,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                    "embedding": {0: "batch"}})


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("small", "minilm"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    torch.manual_seed(0)
    if sys.argv[1] == "small":
        gen_small(sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/transformer")
    else:
        onnx = None
        if "--onnx" in sys.argv:
            onnx = sys.argv[sys.argv.index("--onnx") + 1]
        corpus = sys.argv[sys.argv.index("--corpus") + 1] if "--corpus" in sys.argv else None
        gen_minilm(sys.argv[2], onnx, corpus)


if __name__ == "__main__":
    main()
