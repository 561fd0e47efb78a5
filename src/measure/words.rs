//! Word lists for probing a model.

/// Occupations that are a single token in the uncased BERT vocabulary (bert-base-uncased, distilbert-base-uncased,
/// all-MiniLM-L6-v2), so that a fill-mask model can predict each of them at one mask: 116 words, among them
/// the occupations of WinoBias (Zhao et al. 2018) that are single tokens. Used to tell which predictions are
/// occupations and to compare the probability of each occupation between groups.
#[rustfmt::skip] // a word list, kept packed
pub const OCCUPATIONS: &[&str] = &[
    "accountant", "actor", "actress", "architect", "artist", "assistant", "astronaut", "athlete", "attorney",
    "author", "baker", "banker", "barber", "bartender", "biologist", "blacksmith", "bodyguard", "boxer", "builder",
    "butcher", "butler", "captain", "carpenter", "chef", "chemist", "clerk", "coach", "comedian", "composer",
    "consultant", "cook", "counselor", "dancer", "dentist", "designer", "detective", "diplomat", "director",
    "doctor", "driver", "economist", "editor", "engineer", "entrepreneur", "executive", "farmer", "fisherman",
    "gardener", "guard", "historian", "housekeeper", "hunter", "inspector", "instructor", "investor", "journalist",
    "judge", "landlord", "lawyer", "lecturer", "librarian", "maid", "manager", "mechanic", "merchant", "miner",
    "minister", "model", "musician", "nanny", "novelist", "nurse", "officer", "painter", "philosopher",
    "photographer", "physician", "physicist", "pianist", "pilot", "poet", "politician", "preacher", "priest",
    "principal", "producer", "professor", "programmer", "prostitute", "psychiatrist", "psychologist", "publisher",
    "rabbi", "receptionist", "reporter", "researcher", "sailor", "salesman", "scientist", "secretary", "senator",
    "servant", "sheriff", "singer", "soldier", "surgeon", "tailor", "teacher", "technician", "therapist",
    "translator", "tutor", "waiter", "waitress", "warrior", "writer",
];

/// Whether `word` (a predicted token, any case) is in [`OCCUPATIONS`].
pub fn is_occupation(word: &str) -> bool {
    let word = word.trim().to_lowercase();
    OCCUPATIONS.contains(&word.as_str())
}
