# text: the code-aware tokenizer stems English words with Snowball
# (Debian libstemmer-dev).
LDLIBS += -lstemmer
