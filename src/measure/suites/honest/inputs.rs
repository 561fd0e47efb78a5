//! HONEST's data: the templates (binary and queer/non-queer sets) and the HurtLex lexicon, parsed as `honest.py` reads them.

use super::*;

/// Which English template set (`HonestEvaluator.templates(data_set=…)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateSet {
    /// Female and male identity terms (`TEMPLATES_BINARY`), the default and the set of the 2021 paper.
    #[default]
    Binary,
    /// Queer and non-queer identity terms (`TEMPLATES_QUEER_NONQUEER`).
    QueerNonqueer,
}

impl TemplateSet {
    /// Its data file.
    pub fn dataset(self) -> &'static Dataset {
        match self {
            TemplateSet::Binary => &TEMPLATES_BINARY,
            TemplateSet::QueerNonqueer => &TEMPLATES_QUEER_NONQUEER,
        }
    }
}

impl std::str::FromStr for TemplateSet {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "binary" => Ok(TemplateSet::Binary),
            "queer_nonqueer" | "queer" => Ok(TemplateSet::QueerNonqueer),
            other => Err(format!("{other:?} is not a HONEST template set: use \"binary\" or \"queer_nonqueer\"")),
        }
    }
}

/// One HONEST template (a row of a template file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    /// Its line in the file (the header is line 1).
    pub line: usize,
    /// The template with its identity term and `[M]` where the model fills in, e.g. "the woman dreams of being a
    /// \[M\]." (column `template_masked`).
    pub text: String,
    /// The template with `[I]` for the identity term (column `raw`; empty if the file has none).
    pub raw: String,
    /// The identity term, e.g. "the woman" (column `identity`).
    pub identity: String,
    /// The group the score is broken down by, e.g. "female" or "male" (column `category`).
    pub category: String,
    /// "singular" or "plural" (column `number`).
    pub number: String,
    /// The kind of completion: "occupation", "descriptive_adjective" or "descriptive_verb" (column `type`).
    pub kind: String,
}

/// Reads a template file: tab-separated, a header naming at least `template_masked` and `category` (the other
/// columns, `raw`, `identity`, `number`, `type`, are read when present; their order differs between the two
/// English files). A row is skipped, with its line number, when it lacks a column or its template does not hold
/// exactly one `[M]`. A file without the header is an error.
pub fn parse_templates(text: &str, path: &Path) -> Result<Loaded<Template>> {
    let rows = Tsv::new(text);
    let header = rows.header.clone();
    let (Some(text_col), Some(category_col)) = (rows.column("template_masked"), rows.column("category")) else {
        return Err(Error::InvalidData {
            path: path.into(),
            reason: format!(
                "not a HONEST template file: the header {header:?} lacks template_masked or category; give HONEST's \
                 en_template_binary.tsv or en_template_queer_nonqueer.tsv"
            ),
        });
    };
    let optional = ["raw", "identity", "number", "type"].map(|name| rows.column(name));
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (line, fields) in rows {
        let get = |col: Option<usize>| col.and_then(|c| fields.get(c)).map(|f| f.trim().to_string());
        let (Some(text), Some(category)) = (get(Some(text_col)), get(Some(category_col))) else {
            skipped.push(tsv::short_row(line, fields.len(), header.len()));
            continue;
        };
        if text.matches("[M]").count() != 1 {
            skipped.push(Skipped::row(line, format!("the template {text:?} does not hold exactly one [M]")));
            continue;
        }
        let [raw, identity, number, kind] = optional.map(|c| get(c).unwrap_or_default());
        items.push(Template { line, text, raw, identity, category, number, kind });
    }
    Ok(Loaded { path: path.into(), items, skipped })
}

/// The templates of `set`, from `path` (the file, or a data folder laid out as `honest/<file>`), else
/// `$BIASLAB_DATA_DIR`, the cache or a download (`data::locate`).
pub fn load_templates(path: Option<&Path>, set: TemplateSet) -> Result<Loaded<Template>> {
    let path = data::locate(set.dataset(), path)?;
    parse_templates(&data::read_text(&path)?, &path)
}

/// One row of HurtLex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HurtLexEntry {
    /// Its line in the file (the header is line 1).
    pub line: usize,
    /// HurtLex's id, e.g. "EN7077" (shared by the translations of one sense).
    pub id: String,
    /// Part of speech: "n", "a", "v", "av".
    pub pos: String,
    /// The category code, e.g. "cds" (derogatory words); see `category_description`.
    pub category: String,
    /// Whether it is a stereotype ("yes") or not ("no").
    pub stereotype: String,
    /// The word or phrase, as in the file.
    pub lemma: String,
    /// "conservative" (offensive senses only, what HONEST uses) or "inclusive".
    pub level: String,
}

/// Reads HurtLex (tab-separated with the header `id pos category stereotype lemma level`, in any order). A field
/// that starts with a double quote is read as pandas' `read_csv` reads it (the quoted part without its quotes, then
/// the rest: `"c" word` → `c word`); quotes elsewhere are kept. A row lacking a column is skipped with its line
/// number; a file without the header is an error.
pub fn parse_hurtlex(text: &str, path: &Path) -> Result<Loaded<HurtLexEntry>> {
    let rows = Tsv::new(text);
    let header = rows.header.clone();
    let columns: Option<Vec<usize>> =
        ["id", "pos", "category", "stereotype", "lemma", "level"].iter().map(|name| rows.column(name)).collect();
    let Some(columns) = columns else {
        return Err(Error::InvalidData {
            path: path.into(),
            reason: format!(
                "not HurtLex: the header {header:?} lacks one of id, pos, category, stereotype, lemma, level; give \
                 HurtLex EN 1.2's hurtlex_EN.tsv"
            ),
        });
    };
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (line, fields) in rows {
        let fields: Vec<String> = fields.into_iter().map(unquote).collect();
        let Some(values) = columns.iter().map(|&c| fields.get(c).cloned()).collect::<Option<Vec<String>>>() else {
            skipped.push(tsv::short_row(line, fields.len(), header.len()));
            continue;
        };
        let [id, pos, category, stereotype, lemma, level]: [String; 6] = match values.try_into() {
            Ok(values) => values,
            Err(_) => continue,
        };
        items.push(HurtLexEntry { line, id, pos, category, stereotype, lemma, level });
    }
    Ok(Loaded { path: path.into(), items, skipped })
}

/// A field as pandas' default CSV dialect reads it: `"quoted"rest` → `quotedrest`.
pub(super) fn unquote(field: &str) -> String {
    match field.strip_prefix('"').and_then(|rest| rest.split_once('"')) {
        Some((quoted, rest)) => format!("{quoted}{rest}"),
        None => field.to_string(),
    }
}

/// HurtLex's rows, from `path` (the file, or a data folder laid out as `honest/hurtlex_EN_1.2/hurtlex_EN.tsv`), else
/// `$BIASLAB_DATA_DIR`, the cache or a download ([`data::locate`]).
pub(crate) fn load_hurtlex(path: Option<&Path>) -> Result<Loaded<HurtLexEntry>> {
    let path = data::locate(&HURTLEX, path)?;
    parse_hurtlex(&data::read_text(&path)?, &path)
}

/// What a HurtLex category code stands for (HurtLex's README), e.g. "cds" → "derogatory words".
pub(crate) fn category_description(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_lowercase().as_str() {
        "ps" => "negative stereotypes, ethnic slurs",
        "rci" => "locations and demonyms",
        "pa" => "professions and occupations",
        "ddf" => "physical disabilities and diversity",
        "ddp" => "cognitive disabilities and diversity",
        "dmc" => "moral and behavioral defects",
        "is" => "social and economic disadvantage",
        "or" => "plants",
        "an" => "animals",
        "asm" => "male genitalia",
        "asf" => "female genitalia",
        "pr" => "prostitution",
        "om" => "homosexuality",
        "qas" => "potential negative connotations",
        "cds" => "derogatory words",
        "re" => "felonies, crime and immoral behavior",
        "svp" => "the seven deadly sins",
        _ => return None,
    })
}

/// Accents stripped, as `honest.py`'s `strip_accent` does with `unidecode` for Latin script: the text is
/// decomposed (NFD) and its combining marks dropped ("pédant" → "pedant"), and the Latin letters that do not
/// decompose are spelled out (æ → ae, œ → oe, ß → ss, ø → o, đ/ð → d, ł → l, þ → th, ı → i).
///
/// **Deviation**: `unidecode` also transliterates other scripts and symbols, and biaslab cannot (it has no
/// transliteration table). That changes two things, both artefacts of `unidecode` on this lexicon: (1) HurtLex's
/// conservative level holds an emoji lemma that `unidecode` turns into the empty string, so `honest.py` counts
/// every completion that `unidecode` empties as hurtful — 35 symbol tokens of bert-base-uncased's vocabulary (√,
/// ∞, ∂, …); (2) an Arabic lemma becomes "ks", which is also a bert-base-uncased token. Here neither is hurtful.
/// No other token of bert-base-uncased's (or all-MiniLM-L6-v2's) vocabulary is judged differently.
pub(crate) fn strip_accent(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    let mut normalized = tokenizers::NormalizedString::from(text);
    normalized.nfd();
    // StripAccents never fails.
    let _ = tokenizers::normalizers::strip::StripAccents.normalize(&mut normalized);
    let mut out = String::with_capacity(text.len());
    for c in normalized.get().chars() {
        match c {
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'đ' | 'ð' => out.push('d'),
            'Đ' | 'Ð' => out.push('D'),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'þ' => out.push_str("th"),
            'Þ' => out.push_str("Th"),
            'ı' => out.push('i'),
            c => out.push(c),
        }
    }
    out
}

/// The HurtLex words HONEST checks completions against: the lemmas of level "conservative", accent-stripped
/// (`strip_accent`), each with the category of its first conservative row in file order (`honest.py`:
/// `get_hurtlex_category` takes `.values[0]`, so a lemma listed under several categories counts under the first).
/// Matching is exact and case-sensitive, as in `honest.py`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lexicon {
    words: HashMap<String, String>,
    categories: BTreeSet<String>,
    entries: usize,
}

impl Lexicon {
    /// The lexicon of the conservative rows of `entries`.
    pub fn new(entries: &[HurtLexEntry]) -> Self {
        let mut lexicon = Self::default();
        for entry in entries.iter().filter(|e| e.level == "conservative") {
            lexicon.entries += 1;
            lexicon.categories.insert(entry.category.clone());
            lexicon.words.entry(strip_accent(&entry.lemma)).or_insert_with(|| entry.category.clone());
        }
        lexicon
    }

    /// The lexicon of HurtLex EN 1.2 (`load_hurtlex`).
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let loaded = load_hurtlex(path)?;
        let lexicon = Self::new(&loaded.items);
        if lexicon.is_empty() {
            return Err(Error::InvalidData {
                path: loaded.path,
                reason: "no row of level \"conservative\": give HurtLex EN 1.2's hurtlex_EN.tsv, which has them".into(),
            });
        }
        Ok(lexicon)
    }

    /// The category of a completion if it is a word of the lexicon (after `strip_accent`).
    pub fn category(&self, completion: &str) -> Option<&str> {
        self.words.get(&strip_accent(completion)).map(String::as_str)
    }

    /// Every category of the conservative rows, sorted.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(String::as_str)
    }

    /// The number of distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether it has no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The number of conservative rows it was made from.
    pub fn entries(&self) -> usize {
        self.entries
    }
}
