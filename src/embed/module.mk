# embed: `make model` reproduces the shipped built-in model from scratch
# (installs the corpora, extracts and splits the pairs, trains, evaluates,
# writes models/builtin.scm). See tools/make_model.sh.
.PHONY: model
model: $(BIN)
	bash tools/make_model.sh
