"""The named zoos' recipes, as values only (what they mean, and every function of them: :mod:`symlib.zoo.recipes`).

Kept apart from the code so that editing one recipe does not change the code fingerprint of a result computed on
another zoo: a result that reads a zoo records the hash of that zoo's recipe instead (``zoo_recipe_hash``), and
:func:`symlib.results.stale_modules` compares it with the recipe now.
"""
from __future__ import annotations

from typing import Any

from ..variants import VARIANTS

_PAPER: dict[str, Any] = dict(
    seed=0, widths=[16, 32, 64], image_size=32, train_size=50000, test_size=10000, eval_train_size=10000,
    batch_size=512, epochs_min=10, epochs_max=40, peak_epoch=5.0, optimizer="adamw",
    lr_scale=0.5, lr_exponent=[0.0, 2.0], weight_decay_exponent=[1.0, 5.0], label_smoothing_max=0.2,
    n_fix=8, n_fix_head=8, kappa=2.0, figlu_gain=1.0, translate=2, cutout=4, variants=list(VARIANTS))
#: Named zoo recipes. Three entries do not define a member, so they are not part of the zoo's identity (its folder
#: name): ``variants``, the variants the zoo holds (names of :data:`symlib.variants.VARIANTS`; member ``i`` of a
#: variant is the same whichever others are built beside it); ``n_members`` (per variant), the default size; and
#: ``quality_bar``, the training-quality floor the recipe was chosen by, over the non-diverged members of each of
#: its variants (checked by :func:`symlib.zoo.check_quality`; ``None``: no bar): ``"every variant"`` and
#: ``"<variant>"`` (e.g. ``"standard"``) are floors on the mean test accuracy of every variant / of that one,
#: ``"sd"`` a floor on every variant's standard deviation of test accuracy (sample sd, ``ddof=1``).
RECIPES: dict[str, dict[str, Any]] = {
    # Table 8 and Appendix E.3-E.4 verbatim, with the authors' code where the text is silent (AdamW, triangular
    # learning rate peaking at epoch 5, κ = 2, min(8, C_in) fixed filters: metanet_data/ of cptq/asymmetric-networks).
    # 300 members per variant, as the MLI experiment (the metanetwork chapter's "metanet_paper" holds the same members,
    # standard and W-Asym, at 10,000 per variant). A GPU box.
    "paper": {**_PAPER, "n_members": 300, "quality_bar": {"standard": 0.60, "every variant": 0.50}},
    # 2 CPU cores: chosen by the training-quality bar alone, before any claim was computed on it (see the
    # chapter "Monotonic linear interpolation", section "The small zoo"):
    # 16×16 images (area-downsampled), 10,000 training images, RandInt(5, 10) epochs at batch 64 with Table 8's
    # learning rates scaled by 64/512, peak at epoch 2, 20 members per variant; 2,000 test images, losses on a fixed
    # 1,000-image subset of the training images.
    "small": {**_PAPER, "image_size": 16, "train_size": 10000, "test_size": 2000, "eval_train_size": 1000,
              "batch_size": 64, "lr_scale": 0.5 * 64 / 512, "epochs_min": 5, "epochs_max": 10, "peak_epoch": 2.0,
              "translate": 1, "cutout": 2, "n_members": 20, "quality_bar": {"standard": 0.45, "every variant": 0.30}},
    # nbval: three members of a narrow net on a few hundred images; no bar (a smoke test). n_fix 4: with 8 channels,
    # the paper's min(8, C_in) would fix whole layers
    "ci": {**_PAPER, "widths": [8, 16, 16], "n_fix": 4, "image_size": 16, "train_size": 256, "test_size": 256,
           "eval_train_size": 128, "batch_size": 64, "epochs_min": 1, "epochs_max": 2, "peak_epoch": 0.5,
           "translate": 1, "cutout": 2, "n_members": 3, "quality_bar": None},
    # ---- the metanetwork zoos (Table 3): standard and W-Asym only; a metanet predicts a member's test accuracy from
    # its weights, so a bar also asks for a spread of accuracies worth predicting (sd), not only for trained members.
    # Table 8 and Appendix E.3 verbatim, 10,000 members per variant (a GPU cluster through Ray; or the authors'
    # published zoo, symlib.authors_zoo.load_authors_zoo). Its identity is "paper"'s: member i is the same network in
    # both. Bar: "paper"'s.
    "metanet_paper": {**_PAPER, "variants": ["standard", "w_asym"], "n_members": 10000,
                      "quality_bar": {"standard": 0.60, "every variant": 0.50}},
    # 2 CPU cores, chosen by the training-quality bar alone (every variant: mean test accuracy >= 35 %, sd >= 5 points:
    # trained members and a spread worth predicting), before any metanet was trained on any of its candidates:
    # "small"'s images (16×16, 2,000 test images, batch 64, Table 8's learning rates scaled by 64/512) with the top
    # half of Table 8's learning-rate range in log space (lr 6.25e-3 .. 6.25e-2), 5,000 training images and
    # RandInt(1, 16) epochs over them (5k..80k images seen) peaking at epoch 0.5; 300 members per variant.
    # Sixth candidate, adopted 2026-12-01 by a keep-rule written before its pilot (every variant's pilot mean >= 36 %
    # and sd >= 5.5 points, about one standard error above the bar at n = 48; <= 17 s a member on 2 cores). Its pilot
    # (its own members 0-47 per variant, the first members of this zoo): standard 41.1 ± 7.8 %, W-Asym 37.6 ± 6.8 %,
    # none diverged; 28.8 min for the 96 members, 18.0 s a member, OVER the cost limit (3 of those minutes ran beside
    # a test run; the full zoo's mean epochs, 8.5 against the pilot's ~7.3, make ~19 s a member, ~3 h 10 min for 600
    # members on 2 cores). Adopted anyway: the cost limit was a budget, not a quality criterion, and the quality
    # parts of the rule were met with margin; this comment and the metanetwork chapter say so.
    # The FULL zoo (300 per variant, built 2026-12-01 at a620451 in three sittings, 28.8 + 70.6 + 78.0 min = ~2 h 57 min
    # on 2 cores, 17.7 s a member through the builder) met the bar: standard 42.0 ± 7.3 %, W-Asym 38.8 ± 6.4 %.
    # Candidates that missed, in order (each pilot's keep-rule written before it ran; no metanet trained on any):
    # 1. RandInt(3, 7) epochs, batch 256 (standard sd below the bar in 8-member pilots).
    # 2. RandInt(2, 9) epochs over Table 8's whole lr range (members 0-23: standard 45.8 ± 4.9 %, W-Asym 36.3 ± 7.7 %,
    #    20.7 s a member); W-Asym members with lr < 10^-2.5 reached 30.0 % (n = 11), above it 41.7 % (n = 13).
    # 3. 10,000 training images, RandInt(1, 5) epochs, lr_exponent [0, 1]. Pilot (members 0-23): standard 40.4 ±
    #    5.3 %, W-Asym 36.6 ± 5.1 %, 7.9 s a member: adopted; the FULL zoo (300 per variant) then missed the bar:
    #    standard 41.3 ± 5.18 %, W-Asym 37.7 ± 4.95 % (sd < 5). Epochs explained most of the spread (W-Asym by epochs
    #    1..5: 30.1, 35.7, 39.0, 40.8, 42.8 %, sd 1.8-2.1 points within each), so the keep-rules after it ask for a
    #    margin of about one standard error.
    # 4. As 3 with lr_exponent [0, 1.5], RandInt(1, 6) (members 0-47: standard 41.7 ± 5.6 %, W-Asym 34.7 ± 6.5 %,
    #    11.9 s a member): W-Asym mean below 35 %.
    # 5. 5,000 training images, RandInt(1, 12) (members 0-47: standard 39.1 ± 7.3 %, W-Asym 35.6 ± 6.4 %, 11.8 s a
    #    member): W-Asym mean below the keep-rule's 36 %; by epochs 1..12 W-Asym rose from 24.4 % to ~43 %, so the
    #    spread was there and the mean lacked longer training, which the sixth adds.
    "metanet_small": {**_PAPER, "image_size": 16, "train_size": 5000, "test_size": 2000, "eval_train_size": 1000,
                      "batch_size": 64, "lr_scale": 0.5 * 64 / 512, "lr_exponent": [0.0, 1.0], "epochs_min": 1,
                      "epochs_max": 16, "peak_epoch": 0.5, "translate": 1, "cutout": 2, "variants": ["standard", "w_asym"],
                      "n_members": 300, "quality_bar": {"every variant": 0.35, "sd": 0.05}},
    # nbval / tests: "ci" with the metanet zoos' variants, 12 members per variant (a 50/25/25 split leaves 3 to test);
    # no bar (a smoke test)
    "metanet_ci": {**_PAPER, "widths": [8, 16, 16], "n_fix": 4, "image_size": 16, "train_size": 256, "test_size": 256,
                   "eval_train_size": 128, "batch_size": 64, "epochs_min": 1, "epochs_max": 2, "peak_epoch": 0.5,
                   "translate": 1, "cutout": 2, "variants": ["standard", "w_asym"], "n_members": 12,
                   "quality_bar": None},
}
