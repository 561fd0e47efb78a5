//! Normalised pointwise mutual information.

/// Normalised pointwise mutual information of words x and y from per-sentence counts (Bouma 2009, "Normalized
/// (pointwise) mutual information in collocation extraction"): with p = count / n over `n` sentences, each sentence
/// counted once however often it holds a word,
///
/// nPMI(x; y) = ln(p(x, y) / (p(x) p(y))) / −ln p(x, y),
///
/// which runs from −1 (never together) through 0 (independent) to +1 (always together).
///
/// Conventions: `count_xy = 0` with both words seen gives −1, the limit as p(x, y) → 0; `n = 0`, `count_x = 0` or
/// `count_y = 0` gives `None` (nothing to measure); p(x, y) = 1 (every sentence holds both, e.g. a one-sentence
/// corpus) gives `None`, since the normaliser −ln p(x, y) is 0 (0/0); counts that cannot be (count_xy above count_x
/// or count_y, or a count above n) give `None`.
///
/// How this differs from DMT (`data_measurements/npmi/npmi.py`, `nPMI.calc_PMI` / `calc_nPMI`): DMT counts the
/// co-occurrences the same way (binary per sentence, via `MultiLabelBinarizer`), but takes p(word) and p(term) as
/// token proportions of the whole vocabulary and normalises by −log(p(word | term) · p(word)) with
/// p(word | term) = co-occurrences / their sum over the vocabulary, which is not the joint probability; and it drops
/// words that never co-occur (log 0 = −inf becomes NaN, then `dropna`). Here every probability is per sentence, the
/// normaliser is the textbook −ln p(x, y), and never co-occurring is kept as −1, so that nPMI is bounded and a
/// word seen only with "he" shows its full gap.
pub fn npmi(count_xy: u64, count_x: u64, count_y: u64, n: u64) -> Option<f64> {
    if n == 0 || count_x == 0 || count_y == 0 || count_x > n || count_y > n || count_xy > count_x.min(count_y) {
        return None;
    }
    if count_xy == 0 {
        return Some(-1.0);
    }
    if count_xy == n {
        return None;
    }
    let (xy, x, y, n) = (count_xy as f64, count_x as f64, count_y as f64, n as f64);
    let pmi = (xy * n / (x * y)).ln();
    let normaliser = n.ln() - xy.ln();
    Some(pmi / normaliser)
}
