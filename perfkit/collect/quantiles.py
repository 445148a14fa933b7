"""Student-t and normal quantiles for `perfkit.collect.sequential`, mostly without scipy.special.

The sequential design widens its mean sequence by ``stdtrit(n - 1, q) / ndtri(q)`` (a
deviation from few rounds is often too small). Importing scipy.special costs ~0.1 s of every
`perfkit run`'s start on this 2-core box, numpy and pandas already loaded, on the critical
path: the rounds need it from the second round on, when both cores are timing, and the end's
summary needs it again. At the adaptive plan's default level (95 %: each of the two sequences
at 2.5 %, so ``q = 0.9875``) and up to 127 degrees of freedom (the busy cap's 128 rounds)
the values are read from `T_TABLE`, scipy.special's own results (written with scipy
1.17.1 by `scipy_table`; tests/test_sequential.py checks every entry against
scipy.special bit for bit); any other level or more rounds import scipy.special then. Same
signatures and values as scipy.special's `stdtrit` and `ndtri` for scalars. `ndtri` also
knows the tail of the memory growth interval at 95 % (`perfkit.analysis.memory.theil_sen`),
so a run's summary gets its leak verdicts without scipy.special too, and the upper tail of
a 95 % interval (the scaling comparison's normal quantile).
"""

from __future__ import annotations

TABLE_Q = 1 - ((1.0 - 0.95) / 2) / 2  # as `sequential.confidence_sequence` computes it
NDTRI_TABLE_Q = 2.241402727604947  # scipy.special.ndtri(TABLE_Q)
SEN_Q = (1.0 - 0.95) / 2  # as `theil_sen` computes the lower tail at 95 %
CI_Q = 0.5 + 0.95 / 2  # a two-sided 95 % interval's upper tail (`perfkit.analysis.scaling`)
NDTRI_TABLE = {  # scipy.special.ndtri(q)
    TABLE_Q: NDTRI_TABLE_Q,
    SEN_Q: -1.959963984540054,
    CI_Q: 1.959963984540054,
}
# fmt: off
T_TABLE = (  # scipy.special.stdtrit(dof, TABLE_Q) for dof = 1, 2, ...
    25.451699579357168, 6.205346816570706, 4.176534846104503, 3.4954059325164417,
    3.163381449748609, 2.9686866841534867, 2.841244248588211, 2.751523596063054,
    2.6850108468164575, 2.6337669157116004, 2.593092682539364, 2.5600329593592477,
    2.5326378146609496, 2.509569411493326, 2.4898797034798923, 2.472878322461574,
    2.458050720379286, 2.4450056165149445, 2.433440211374971, 2.423116539873409,
    2.4138450165990006, 2.405472746261936, 2.3978750646571103, 2.3909493151294687,
    2.384610200804689, 2.378786266235589, 2.3734172009126095, 2.368451749168746,
    2.363846073208312, 2.359562458700931, 2.3555682821599135, 2.35183518037637, 2.348338377257479,
    2.3450561343451817, 2.3419692993010397, 2.3390609325747476, 2.3363159969097853,
    2.333721097687465, 2.3312642646588233, 2.3289347675691165, 2.326722959691436,
    2.3246201444632133, 2.3226184613423864, 2.320710787728262, 2.3188906543703425,
    2.317152172150019, 2.315489968490728, 2.3138991319513327, 2.3123751638001577,
    2.3109139355649053, 2.3095116517155776, 2.3081648167707263, 2.3068702062272686,
    2.3056248408052786, 2.3044259635750364, 2.3032710195969446, 2.3021576377580986,
    2.3010836145339115, 2.3000468994409324, 2.2990455819789015, 2.2980778798871837,
    2.297142128563786, 2.2962367715148795, 2.2953603517196304, 2.294511503809602,
    2.2936889469744846, 2.2928914785166694, 2.2921179679864654, 2.291367351837847,
    2.2906386285516294, 2.2899308541790564, 2.2892431382641254, 2.288574640107622,
    2.287924565339922, 2.287292162773197, 2.2866767215067982, 2.2860775682623937,
    2.2854940649278457, 2.2849256062910106, 2.2843716179465443, 2.2838315543604946,
    2.2833048970789873, 2.282791153068631, 2.282289853177492, 2.2818005507065293,
    2.2813228200823645, 2.2808562556230867, 2.2804004703895764, 2.2799550951155214,
    2.2795197772098943, 2.2790941798262367, 2.278677980993597, 2.278270872804387,
    2.2778725606548798, 2.2774827625343956, 2.277101208359578, 2.276727639350457,
    2.2763618074452716, 2.276003474751275, 2.2756524130289573, 2.275308403207353,
    2.2749712349282536, 2.2746407061173417, 2.2743166225804137, 2.2739987976229865,
    2.2736870516917302, 2.2733812120362717, 2.2730811123900474, 2.272786592668944,
    2.2724974986866, 2.2722136818852867, 2.271934999081404, 2.2716613122246465,
    2.2713924881700174, 2.2711283984618795, 2.270868919129315, 2.2706139304921105,
    2.2703633169767246, 2.2701169669416505, 2.26987477251161, 2.269636629420071,
    2.269402436859601, 2.2691720973396032, 2.2689455165510175, 2.268722603237592,
    2.2685032690733524, 2.268287428545927,
)
# fmt: on


def stdtrit(df: int, p: float) -> float:
    """The `p` quantile of Student's t with `df` degrees of freedom (scipy.special.stdtrit)."""
    if p == TABLE_Q and float(df).is_integer() and 1 <= df <= len(T_TABLE):
        return T_TABLE[int(df) - 1]
    from scipy import special  # ~0.1 s to import: only off the default level

    return float(special.stdtrit(df, p))


def ndtri(p: float) -> float:
    """The `p` quantile of the standard normal (scipy.special.ndtri)."""
    if p in NDTRI_TABLE:
        return NDTRI_TABLE[p]
    from scipy import special  # ~0.1 s to import: only off the default level

    return float(special.ndtri(p))


def scipy_table(q: float = TABLE_Q, max_dof: int = len(T_TABLE)) -> tuple[float, ...]:
    """`T_TABLE` from scipy.special (to write the table again, and for the test)."""
    from scipy import special

    return tuple(float(special.stdtrit(dof, q)) for dof in range(1, max_dof + 1))
