"""``sd-model sbc`` and :mod:`sd_model.bayes.sbc_run` on the linear test model (closed-form posterior)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from sd_model.bayes.sbc_run import check_out, laplace_check, prepare, sbc_manifest, sbc_tables, write_sbc
from sd_model.files import OutputError

from test_bayes import CONFIG, MDL, PRIORS, linear_obs
from test_bayes_sampler import gls_posterior


@pytest.fixture(scope="module")
def matched():
    setup = prepare(CONFIG, PRIORS, model=MDL, observations=linear_obs(), matched=True, seed=3)
    yield setup
    setup.runner.close()


def test_matched_priors_are_the_closed_form_posterior_of_the_real_data(matched):
    # the linear-Gaussian posterior is normal, so its Laplace approximation is exact: the matched
    # priors' means and sds are the GLS posterior's, up to the noise of 4,000 draws
    mean, cov = gls_posterior(linear_obs()["level"].to_numpy())
    sd = np.sqrt(np.diag(cov))
    params = [dict(p.params) for p in matched.likelihood.priors.priors]
    assert [p["mu"] for p in params] == pytest.approx(mean, abs=0.05 * max(sd))
    assert [p["sigma"] for p in params] == pytest.approx(sd, rel=0.05)
    assert matched.options == {"init": "laplace", "burn": 0.1, "cap": 0.5} and matched.fixed == ()


def test_file_priors_draw_one_true_value_per_data_set_from_the_posterior():
    setup = prepare(CONFIG, PRIORS, model=MDL, observations=linear_obs(), matched=False, seed=3, datasets=7)
    setup.runner.close()
    assert setup.options["truths"].shape == (7, 2)
    assert [p.dist for p in setup.likelihood.priors.priors] == ["normal", "normal"]  # the file's own


def test_sbc_tables_keep_their_data_sets_and_write_tables_a_manifest_and_ranks(matched, tmp_path):
    out = tmp_path / "sbc"
    res = sbc_tables(matched, out=out, datasets=4, steps=60, seed=3, lockstep=4)
    assert sorted(res.table["dataset"].unique()) == [0, 1, 2, 3] and res.walkers == 4
    write_sbc(res, out, sbc_manifest(matched, res, seed=3, thin=5, matched=True))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_by"] == "sbc" and manifest["sbc"]["datasets"] == 4 and manifest["seed"] == 3
    assert set(manifest["written"]) == {"sbc.csv", "coverage.csv", "rank_histograms.png"}
    assert manifest["model"]["sha256"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "sbc.csv"), res.table, check_dtype=False)
    # the same call again finds every data set and fits nothing
    again = sbc_tables(matched, out=out, datasets=4, steps=60, seed=3, lockstep=4)
    pd.testing.assert_frame_equal(again.table, res.table)
    # the Laplace yardstick on the same data sets, in the same folder, compared with the fits
    table, cov, line = laplace_check(matched, out=out, datasets=4, seed=3)
    assert np.allclose(table["true"], res.table["true"]) and "width / Laplace's" in line
    assert "laplace.csv" in json.loads((out / "manifest.json").read_text())["written"]
    check_out(out)  # still the SBC's own folder
    (out / "sbc.csv").write_text("edited")
    with pytest.raises(OutputError, match="changed since"):
        check_out(out)


def test_sbc_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's notes")
    with pytest.raises(OutputError, match="did not write"):
        check_out(tmp_path / "mine")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_out(tmp_path / "afile")
    check_out(tmp_path / "new")  # absent: fine


def test_sbc_command_refuses_a_foreign_out_folder_before_any_model_run(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's notes")
    res = CliRunner().invoke(main, ["sbc", "--out", str(out), "-q"])
    assert res.exit_code == 2 and "did not write" in res.output and "Traceback" not in res.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    res = CliRunner().invoke(main, ["sbc", "--out", str(tmp_path / "x"), "--datasets", "0"])
    assert res.exit_code == 2 and "--datasets" in res.output
