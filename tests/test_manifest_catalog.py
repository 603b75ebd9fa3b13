"""The model-zoo catalog: schema, completeness against the zoo page, facts against zoo_facts.yaml."""
from __future__ import annotations

import shutil

import pytest
import yaml

from manifests.catalog import CatalogError, load_catalog, read_catalog_data, stage_ref, DATA_DIR
from manifests.render import parse_zoo_tables, render_tables
from manifests.schema import UNKNOWN
from manifests.validate import validate_catalog
from corpusprep.errors import InputError


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


@pytest.fixture(scope="module")
def zoo_facts(reference_dir):
    with open(reference_dir / "zoo_facts.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def page_rows(reference_dir):
    return parse_zoo_tables((reference_dir / "Modelzoo.zh.md").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- schema and validation
def test_whole_catalog_validates(cat):
    rep = validate_catalog(cat)
    assert rep.ok, rep.errors
    assert any("heads == hidden/64" in c for c in rep.checked)


def test_family_counts_match_the_zoo_page(cat):
    on_page = [m for m in cat.models.values() if not m.extra]
    by_section = {}
    for m in on_page:
        by_section.setdefault(m.page.section, []).append(m.id)
    assert {k: len(v) for k, v in by_section.items()} == {"roberta-char": 24, "roberta-word": 5, "gpt2": 6, "google": 5, "uer": 19}


def test_every_zoo_facts_model_is_in_the_catalog(cat, zoo_facts):
    ids = {m["id"] for m in zoo_facts["models"] + zoo_facts["extra_models"]}
    assert ids == set(cat.models)
    for m in zoo_facts["extra_models"]:
        assert cat.model(m["id"]).extra


def test_every_page_row_is_in_the_catalog_with_the_same_link(cat, page_rows):
    assert len(page_rows) == 59
    by_label = {}
    for m in cat.models.values():
        if m.page:
            by_label[(m.page.section, m.page.label if m.page.section != "gpt2" else f"**{m.page.label}**")] = m
    for row in page_rows:
        m = by_label.get((row.section, row.label))
        assert m is not None, f"page row {row} has no catalog model"
        current = [l.url for l in m.links if l.current and l.kind in ("weights", "vocab")]
        assert list(row.urls) == current, (m.id, row.urls, current)


def test_render_matches_the_page_row_by_row(cat, page_rows):
    rendered = parse_zoo_tables(render_tables(cat, "zh"))
    assert len(rendered) == len(page_rows)
    for i, (want, got) in enumerate(zip(page_rows, rendered)):
        assert want == got, f"row {i + 1}: page {want} != rendered {got}"


def test_english_render_keeps_rows_and_links(cat, page_rows):
    rendered = parse_zoo_tables(render_tables(cat, "en"))
    assert [(r.section, r.urls) for r in rendered] == [(r.section, r.urls) for r in page_rows]
    assert "Chinese GPT-2" in render_tables(cat, "en")


def test_render_rows_follow_the_catalog_not_a_copy(cat, tmp_path):
    """Changing a link in the YAML changes the rendered table (the page is generated, not stored)."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    text = (data / "models.yaml").read_text(encoding="utf-8").replace("https://share.weiyun.com/5mXkEvxN", "https://example.org/moved")
    (data / "models.yaml").write_text(text, encoding="utf-8")
    from manifests.catalog import Catalog

    other = Catalog(read_catalog_data(data), data)
    rows = parse_zoo_tables(render_tables(other, "zh"))
    assert rows[0].urls == ("https://example.org/moved",)


# ---------------------------------------------------------------- recipes vs zoo_facts
def _facts_model(zoo_facts, mid):
    return next(m for m in zoo_facts["models"] + zoo_facts["extra_models"] if m["id"] == mid)


KEYS = ("seq_length", "total_steps", "batch_size_per_gpu", "world_size", "learning_rate", "save_checkpoint_steps", "report_steps")


@pytest.mark.parametrize("recipe_id, facts_key", [
    ("roberta-char-cluecorpussmall-2stage", "roberta_char_cluecorpussmall_2stage"),
    ("roberta-word-cluecorpussmall-2stage", "roberta_word_cluecorpussmall_2stage"),
    ("gpt2-cluecorpussmall-2stage", "gpt2_cluecorpussmall_2stage"),
])
def test_shared_recipes_value_by_value(cat, zoo_facts, recipe_id, facts_key):
    facts = zoo_facts["meta"]["recipes"][facts_key]["stages"]
    recipe = cat.recipe(recipe_id)
    assert len(recipe.stages) == len(facts)
    for st, f in zip(recipe.stages, facts):
        for k in KEYS:
            assert getattr(st, k) == f[k], (recipe_id, st.stage, k)
        assert st.data_processor == f["data_processor"]
        assert st.corpus_path == f["preprocess"]["corpus_path"]
        assert st.dataset_path == f["preprocess"]["dataset_path"]
        assert st.processes_num == f["preprocess"]["processes_num"]
        assert st.gpu_ranks == [int(x) for x in f["gpu_ranks"].split()]
        assert st.batch_size_per_gpu * st.world_size == f["effective_batch_sequences"]
        assert (st.init_checkpoint is None) == (st.stage == 1)
        assert st.warmup == 0.1 and not st.warmup_stated  # UER default, the cards set none


@pytest.mark.parametrize("model_id", ["gpt2-poem", "gpt2-couplet", "gpt2-lyric", "gpt2-ancient", "cluecorpussmall-lstm", "cluecorpussmall-gatedcnn"])
def test_per_model_recipes_value_by_value(cat, zoo_facts, model_id):
    facts = _facts_model(zoo_facts, model_id)["training_recipe"]["stages"][0]
    st = cat.recipe_of(model_id).stages[0]
    for k in KEYS:
        if k in facts:
            assert getattr(st, k) == facts[k], (model_id, k)
    assert st.corpus_path == facts["preprocess"]["corpus_path"]
    assert st.processes_num == facts["preprocess"]["processes_num"]


def test_models_point_at_their_recipe_and_conversion_layers(cat, zoo_facts):
    for m in zoo_facts["models"]:
        tr = m.get("training_recipe")
        if isinstance(tr, dict) and "recipe_ref" in tr:
            ours = cat.model(m["id"]).recipe
            assert ours.id == tr["recipe_ref"].replace("_", "-")
            assert ours.layers_num == tr["hf_conversion_layers_num"]
            if not tr["config_path"].startswith("custom"):
                assert ours.config_path == tr["config_path"]


def test_architectures_match_zoo_facts(cat, zoo_facts):
    for m in zoo_facts["models"] + zoo_facts["extra_models"]:
        a = m["architecture"]
        ours = cat.architecture(cat.model(m["id"]).architecture)
        for theirs, mine in (("layers", "layers"), ("hidden", "hidden"), ("heads", "heads"), ("feedforward", "feedforward"), ("emb_size", "emb_size")):
            if theirs in a and isinstance(a[theirs], int):
                assert getattr(ours, mine) == a[theirs], (m["id"], theirs)


# ---------------------------------------------------------------- unknowns stay unknown
def test_unknown_facts_stay_unknown(cat, zoo_facts):
    checked = 0
    for m in zoo_facts["models"] + zoo_facts["extra_models"]:
        ours = cat.model(m["id"])
        arch = cat.architecture(ours.architecture)
        for k in ("layers", "hidden", "heads"):
            if m["architecture"].get(k) == "unknown":
                assert getattr(arch, k) == UNKNOWN
                checked += 1
        tr = m.get("training_recipe")
        if isinstance(tr, dict) and isinstance(tr.get("stages"), list) and ours.recipe.id == m["id"]:
            for fst, st in zip(tr["stages"], cat.recipe(ours.recipe.id).stages):
                for k in ("seq_length", "batch_size_per_gpu", "world_size", "learning_rate"):
                    if fst.get(k) == "unknown":
                        assert getattr(st, k) == UNKNOWN, (m["id"], k)
                        checked += 1
        if m.get("uer_checkpoint_name") == "unknown":
            assert ours.uer_checkpoint_name == UNKNOWN
    assert checked > 30
    assert cat.model("roberta-base-finetuned-extractive-qa").datasets == UNKNOWN
    assert cat.dataset("weibo").size == UNKNOWN
    assert cat.tokenizer("wikizh_word_vocab").vocab_size == UNKNOWN


def test_conflicts_record_both_sides_and_the_choice(cat):
    assert len(cat.conflicts) >= 10
    for c in cat.conflicts:
        assert len(c.claims) >= 2
        assert c.follows in cat.sources
    poem = cat.conflicts_about("gpt2-poem")[0]
    assert {cl.value for cl in poem.claims} >= {"models/google_zh_poem_vocab.txt", "models/poem_zh_vocab.txt"}
    assert cat.model("gpt2-poem").tokenizer == "google_zh_poem_vocab"  # what the manifest follows


# ---------------------------------------------------------------- datasets, tokenizers, stage refs
def test_dataset_used_by_and_lookup(cat):
    weibo = cat.models_on("weibo")
    assert {m.id for m in weibo} == {"bert-weibo", "bert-large-weibo-mlm"}
    assert len(cat.models_on("cluecorpussmall")) >= 29
    with pytest.raises(CatalogError, match="did you mean"):
        cat.dataset("cluecorpusmall")


def test_tokenizers_match_the_vocab_files(cat, google_vocab, clue_spm):
    rep = validate_catalog(cat, google_vocab.parent)
    assert rep.ok, rep.errors
    assert any("5 matched" in c for c in rep.checked)
    assert any("absent" in n for n in rep.not_checked)  # English vocabs are not shipped: reported, not failed
    lines = google_vocab.read_text(encoding="utf-8").split("\n")[:-1]  # not splitlines: the vocab holds U+2028-like tokens
    tok = cat.tokenizer("google_zh_vocab")
    assert len(lines) == tok.vocab_size
    assert {k: lines[v] for k, v in tok.special_ids.model_dump().items()} == {
        "pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(clue_spm))
    spm_tok = cat.tokenizer("cluecorpussmall_spm")
    assert sp.get_piece_size() == spm_tok.vocab_size
    assert sp.id_to_piece(spm_tok.special_ids.mask) == "[MASK]" and sp.id_to_piece(spm_tok.special_ids.cls) == "[CLS]"


def test_checksum_mismatch_is_an_error_and_absent_is_not(cat, tmp_path):
    (tmp_path / "google_zh_vocab.txt").write_text("[PAD]\n", encoding="utf-8")
    rep = validate_catalog(cat, tmp_path)
    assert not rep.ok and any("google_zh_vocab" in e and "sha256" in e for e in rep.errors)
    assert any("cluecorpussmall_spm" in n and "absent" in n for n in rep.not_checked)


def test_stage_ref(cat):
    ref = stage_ref("cluecorpussmall", "roberta-char-cluecorpussmall-2stage/2")
    assert (ref.processor, ref.seq_length, ref.stage) == ("mlm", 512, 2)
    assert "roberta-char-L8-H512" in ref.models
    assert stage_ref("chinese_poetry+werneror_poetry", "gpt2-poem:1").recipe == "gpt2-poem"
    assert stage_ref("chinese_poetry", "gpt2-poem/1").dataset == "chinese_poetry"
    assert stage_ref("couplet_clean", "gpt2-couplet:1").seq_length == 64
    assert not stage_ref("cluecorpussmall", "roberta-char-cluecorpussmall-2stage/1").adapted
    other = stage_ref("weibo", "roberta-char-cluecorpussmall-2stage/1")  # a recipe run on another corpus
    assert other.adapted and other.recipe_datasets == ("cluecorpussmall",)
    assert stage_ref("my_reviews", "roberta-word-cluecorpussmall-2stage/2").adapted  # the user's own corpus
    with pytest.raises(CatalogError, match="did you mean 'cluecorpussmall'"):
        stage_ref("cluecorpusmall", "roberta-char-cluecorpussmall-2stage/1")
    with pytest.raises(CatalogError, match="no stage 3"):
        stage_ref("cluecorpussmall", "roberta-char-cluecorpussmall-2stage/3")
    with pytest.raises(CatalogError, match="RECIPE/N"):
        stage_ref("cluecorpussmall", "stage1")


# ---------------------------------------------------------------- broken catalogs
def _copy(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    return data


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_validation_catches_bad_references_and_shape_rules(tmp_path):
    from manifests.catalog import Catalog

    data = _copy(tmp_path)
    _edit(data / "models.yaml", "tokenizer: google_zh_vocab\n", "tokenizer: no_such_vocab\n")
    _edit(data / "architectures.yaml", "  hidden: 256\n  heads: 4\n", "  hidden: 256\n  heads: 8\n")
    rep = validate_catalog(Catalog(read_catalog_data(data), data))
    assert any("unknown tokenizer 'no_such_vocab'" in e for e in rep.errors)
    assert any("heads 8 != hidden/64" in e for e in rep.errors)


def test_schema_error_names_file_and_entity(tmp_path):
    data = _copy(tmp_path)
    _edit(data / "recipes.yaml", "total_steps: 1000000", "total_steps: a million")
    with pytest.raises(InputError, match=r"recipes\.yaml: schema error in 'roberta-char-cluecorpussmall-2stage'"):
        read_catalog_data(data)


def test_broken_yaml_names_file_and_line(tmp_path):
    data = _copy(tmp_path)
    (data / "datasets.yaml").write_text("datasets:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"datasets\.yaml:\d+: invalid YAML"):
        read_catalog_data(data)


def test_zooprep_reader_families_exist(cat):
    from corpusprep.readers import FAMILIES

    for d in cat.datasets.values():
        assert d.zooprep.format is None or d.zooprep.format in FAMILIES, d.id


def test_every_model_can_be_shown_planned_and_configured(cat):
    """No model makes a view crash: each either works or fails with a CatalogError naming the gap."""
    from manifests.configs import model_config
    from manifests.recipe_commands import FORMATS, build_plan
    from manifests.views import FigureOptions, show_text

    planned = configured = 0
    for mid in cat.models:
        assert mid in show_text(cat, mid, FigureOptions())
        for fmt in FORMATS:
            try:
                plan = build_plan(cat, mid, fmt)
            except CatalogError as exc:
                assert cat.model(mid).recipe.id is None, exc
                continue
            planned += 1
            assert plan.steps and ("pretrain.py" in plan.text())
            assert plan.runnable == ("${" not in plan.text())
        for fmt in ("uer", "hf"):
            try:
                model_config(cat, mid, fmt)
                configured += 1
            except CatalogError:
                pass
    assert planned >= 3 * 40 and configured >= 130
