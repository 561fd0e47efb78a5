use super::*;

fn gender() -> WordPairs {
    WordPairs::gender()
}

fn swap(text: &str) -> String {
    gender().swap(text).text
}

#[test]
fn cda_leaves_every_sentence_of_the_names_probe_unchanged() {
    // Lab 03's bias measure that CDA does not edit directly: no name and no word of its templates is swapped.
    let probe = crate::measure::probe::Probe::gender_names_occupations();
    let list = gender();
    for group in &probe.groups {
        for name in &group.terms {
            assert_eq!(list.counterpart(name), None, "{name} is on the swap list");
            for template in &probe.templates {
                let sentence = template.replace("[GROUP]", name).replace("[MASK]", "nurse");
                assert_eq!(swap(&sentence), sentence);
            }
        }
    }
    assert_eq!(probe.groups.iter().map(|g| g.terms.len()).collect::<Vec<_>>(), [10, 10]);
    assert!(probe.templates.iter().all(|t| t.starts_with("[GROUP] ") && t.contains("[MASK]")));
}

#[test]
fn the_built_in_list_is_consistent() {
    let list = gender();
    assert_eq!(list.len(), GENDER_PAIRS.len());
    assert!((60..=120).contains(&list.len()), "{}", list.len());
    assert!(list.has_pronoun_rule());
    // Built through the checks of from_pairs: no word in two pairs except the pronouns.
    assert!(WordPairs::from_pairs(GENDER_PAIRS).is_ok());
    let pronouns = ["her", "his", "him", "hers"];
    for (a, b) in list.pairs() {
        for (x, y) in [(a, b), (b, a)] {
            let there = list.counterpart(x).unwrap();
            if pronouns.contains(&x.as_str()) {
                continue;
            }
            assert_eq!(there, y, "{x}");
            assert_eq!(list.counterpart(there), Some(x.as_str()), "{x} → {there} does not map back");
        }
    }
    // The documented exceptions.
    assert_eq!(list.counterpart("him"), Some("her"));
    assert_eq!(list.counterpart("her"), Some("his"));
    assert_eq!(list.counterpart("his"), Some("her"));
    assert_eq!(list.counterpart("hers"), Some("his"));
    assert_eq!(list.counterpart("HE"), Some("she"));
    assert_eq!(list.counterpart("table"), None);
    for word in ["waiter", "nephew", "grandfather", "businessman", "policeman", "monk", "prince", "mr"] {
        assert!(list.counterpart(word).is_some(), "{word}");
    }
}

#[test]
fn case_is_kept() {
    assert_eq!(swap("he said"), "she said");
    assert_eq!(swap("He said"), "She said");
    assert_eq!(swap("HE SAID"), "SHE SAID");
    assert_eq!(swap("MEN, come"), "WOMEN, come");
    // Mixed case → lower-case counterpart.
    assert_eq!(swap("hE left"), "she left");
    assert_eq!(swap("KiNg"), "queen");
    // A one-letter upper-case word counts as Capitalised (no one-letter word is in the list, so a custom one).
    let list = WordPairs::from_pairs(&[("x", "why")]).unwrap();
    assert_eq!(list.swap("X and x").text, "Why and why");
    assert_eq!(list.swap("WHY").text, "X");
}

#[test]
fn punctuation_and_possessives_are_kept() {
    assert_eq!(swap("the man's hat"), "the woman's hat");
    assert_eq!(swap("(He) said: \"MEN, stop!\""), "(She) said: \"WOMEN, stop!\"");
    assert_eq!(swap("Mr. Smith met Mrs. Jones."), "Mrs. Smith met Mr. Jones.");
    assert_eq!(swap("the king’s 2 sons—and daughters"), "the queen’s 2 daughters—and sons");
    let s = gender().swap("  a man,\tthe boy  ");
    assert_eq!(s.text, "  a woman,\tthe girl  ");
    assert_eq!(
        s.swaps,
        vec![
            Swap { from: "man".into(), to: "woman".into(), byte_offset: 4 },
            Swap { from: "boy".into(), to: "girl".into(), byte_offset: 13 },
        ]
    );
    // Words are whole runs of letters: "manager", "shepherd", "Hermann" are not touched.
    assert_eq!(swap("the manager, the shepherd and Hermann"), "the manager, the shepherd and Hermann");
}

#[test]
fn her_becomes_his_or_him() {
    // Possessive: a word that can follow a determiner.
    assert_eq!(swap("her book is red"), "his book is red");
    assert_eq!(swap("Her own mother"), "His own father");
    assert_eq!(swap("her 3 sons"), "his 3 daughters");
    // Object: end of text, punctuation, or a closed-list word next.
    assert_eq!(swap("I saw her"), "I saw him");
    assert_eq!(swap("I saw her."), "I saw him.");
    assert_eq!(swap("I saw her , then left"), "I saw him , then left");
    assert_eq!(swap("I gave her the book"), "I gave him the book");
    assert_eq!(swap("tell her about it"), "tell him about it");
    assert_eq!(swap("with her and me"), "with him and me");
    assert_eq!(swap("HER TO"), "HIM TO");
    // The documented failure: a verb after object "her".
    assert_eq!(swap("I saw her run"), "I saw his run");
    let s = gender().swap("she gave her her book");
    assert_eq!(s.text, "he gave him his book");
    assert_eq!(s.ambiguous, 2);
}

#[test]
fn his_becomes_her_or_hers() {
    assert_eq!(swap("his car"), "her car");
    assert_eq!(swap("the book is his."), "the book is hers.");
    assert_eq!(swap("the book is his"), "the book is hers");
    assert_eq!(swap("His, not mine"), "Hers, not mine");
    assert_eq!(swap("his 2 cars"), "her 2 cars");
    assert_eq!(swap("hers is red"), "his is red");
    assert_eq!(swap("he did it himself"), "she did it herself");
    assert_eq!(swap("I told him"), "I told her");
    let s = gender().swap("The book is his.");
    assert_eq!(s.ambiguous, 1);
    // "him"/"hers" are not decisions.
    assert_eq!(gender().swap("him and hers").ambiguous, 0);
}

#[test]
fn augmentation_is_two_sided() {
    let input: Vec<String> = ["The man is a doctor.", "It rained.", "She thanked her father.", "The book is his."]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = gender().augment(&input);
    assert_eq!(
        out.sentences,
        vec![
            "The man is a doctor.",
            "The woman is a doctor.",
            "It rained.",
            "She thanked her father.",
            "He thanked his mother.",
            "The book is his.",
            "The book is hers.",
        ]
    );
    // By hand: 4 in, 3 changed, 7 out; swaps man, she, her, father, his = 5.
    // "her father": father is not in the closed list → his (her_to_his 1); "his." → hers (his_to_hers 1).
    let s = &out.stats;
    assert_eq!((s.input_sentences, s.changed_sentences, s.output_sentences, s.swaps), (4, 3, 7, 5));
    assert_eq!((s.her_to_his, s.her_to_him, s.his_to_hers), (1, 0, 1));
    assert_eq!(
        s.per_word,
        vec![
            ("father".to_string(), "mother".to_string(), 1),
            ("her".into(), "his".into(), 1),
            ("his".into(), "hers".into(), 1),
            ("man".into(), "woman".into(), 1),
            ("she".into(), "he".into(), 1),
        ]
    );
    let text = s.to_string();
    assert!(text.contains("4 sentences in, 3 changed, 7 out; 5 words swapped"), "{text}");
    assert!(s
        .to_html()
        .contains("<td style=\"text-align:left;padding:2px 10px;border-bottom:1px solid #ddd\">father</td>"));
    let mut csv = Vec::new();
    s.write_csv(&mut csv).unwrap();
    assert!(String::from_utf8(csv).unwrap().starts_with("from,to,count\nfather,mother,1\n"));
}

#[test]
fn stats_count_by_hand() {
    // "He met her." : he→she, her→him (punctuation next).
    // "HE saw his dog and her cat" : he→she, his→her, her→his (cat).
    // "men, men and MEN" : men→women ×3.
    // "nothing here" : unchanged.
    let input: Vec<String> = ["He met her.", "HE saw his dog and her cat", "men, men and MEN", "nothing here"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let s = gender().augment(&input).stats;
    assert_eq!((s.input_sentences, s.changed_sentences, s.output_sentences, s.swaps), (4, 3, 7, 8));
    assert_eq!((s.her_to_his, s.her_to_him, s.his_to_hers), (1, 1, 0));
    // Most frequent first; ties by from, then to.
    assert_eq!(
        s.per_word,
        vec![
            ("men".to_string(), "women".to_string(), 3),
            ("he".into(), "she".into(), 2),
            ("her".into(), "him".into(), 1),
            ("her".into(), "his".into(), 1),
            ("his".into(), "her".into(), 1),
        ]
    );
    let empty = gender().augment(&[]);
    assert!(empty.sentences.is_empty());
    assert_eq!(empty.stats.output_sentences, 0);
    assert!(empty.stats.per_word.is_empty());
}

#[test]
fn from_pairs_rejects_bad_lists() {
    assert!(matches!(WordPairs::from_pairs(&[]), Err(Error::InvalidArgument { .. })));
    let err = WordPairs::from_pairs(&[("actor", "actress"), ("guy", "gal"), ("guy", "girl")]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert!(message.contains("pair 3") && message.contains("\"guy\" is already in pair 2"), "{message}");
    // Inconsistent in the other column, and across orientations.
    assert!(WordPairs::from_pairs(&[("gentleman", "lady"), ("lord", "lady")]).is_err());
    assert!(WordPairs::from_pairs(&[("king", "queen"), ("queen", "king")]).is_err());
    assert!(WordPairs::from_pairs(&[("man", "man")]).is_err());
    assert!(WordPairs::from_pairs(&[("mr.", "mrs.")]).is_err());
    assert!(WordPairs::from_pairs(&[("", "x")]).is_err());
    // A pronoun in a pronoun pair and an ordinary pair.
    assert!(WordPairs::from_pairs(&[("him", "her"), ("her", "she")]).is_err());
    // Case does not matter.
    let list = WordPairs::from_pairs(&[("Actor", "ACTRESS")]).unwrap();
    assert_eq!(list.pairs(), &[("actor".to_string(), "actress".to_string())]);
    assert_eq!(list.swap("The Actress").text, "The Actor");
    // Only his/her: no rule, a plain two-way swap.
    let plain = WordPairs::from_pairs(&[("his", "her")]).unwrap();
    assert!(!plain.has_pronoun_rule());
    assert_eq!(plain.swap("I saw her. It is his.").text, "I saw his. It is her.");
    assert_eq!(plain.swap("I saw her. It is his.").ambiguous, 0);
}

#[test]
fn from_file_parses_and_names_the_bad_line() {
    use std::io::Write as _;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "# a comment\n\nactor\tactress\n  Waiter , waitress \r\nhe,she\n").unwrap();
    let list = WordPairs::from_file(file.path()).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.swap("The waiter said he was an ACTOR.").text, "The waitress said she was an ACTRESS.");

    let mut bad = tempfile::NamedTempFile::new().unwrap();
    write!(bad, "# pairs\nactor,actress\n\nwaiter\n").unwrap();
    let err = WordPairs::from_file(bad.path()).unwrap_err();
    assert!(matches!(&err, Error::InvalidData { reason, .. } if reason.starts_with("line 4:")), "{err}");

    let mut three = tempfile::NamedTempFile::new().unwrap();
    writeln!(three, "a,b,c").unwrap();
    assert!(WordPairs::from_file(three.path()).unwrap_err().to_string().contains("line 1"));

    let mut twice = tempfile::NamedTempFile::new().unwrap();
    write!(twice, "guy,gal\n# x\nguy,girl\n").unwrap();
    let err = WordPairs::from_file(twice.path()).unwrap_err();
    assert!(matches!(&err, Error::InvalidData { reason, .. } if reason.starts_with("line 3:")), "{err}");

    let empty = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(WordPairs::from_file(empty.path()), Err(Error::InvalidData { .. })));
    assert!(matches!(WordPairs::from_file(Path::new("/nonexistent/pairs.tsv")), Err(Error::Io { .. })));
}

#[test]
fn swapping_twice_gives_back_unambiguous_sentences() {
    let list = gender();
    for text in [
        "the man met the woman",
        "My Uncle and MY AUNT, the king's sons.",
        "Policemen and spokeswomen; brides & grooms!",
        "nothing to swap",
    ] {
        let once = list.swap(text);
        assert_eq!(once.ambiguous, 0);
        assert_eq!(list.swap(&once.text).text, text);
    }
    // "his"/"her" may or may not come back: this one does …
    let once = swap("The king and his son");
    assert_eq!(once, "The queen and her daughter");
    assert_eq!(swap(&once), "The king and his son");
    // … this one does not (the documented failure).
    assert_eq!(swap("gave him books"), "gave her books");
    assert_eq!(swap("gave her books"), "gave his books");
}

#[test]
fn odd_input_does_not_panic() {
    let list = gender();
    for text in ["", " ", "...", "!?;", "her", "his", "HER'", "his-", "Ünïcödé ман 男人 her", "\u{feff}he", "ǅ"]
    {
        let s = list.swap(text);
        assert!(s.text.len() <= text.len() * 4 + 8);
        let _ = s.to_string();
        let _ = s.to_html();
    }
    // Non-ASCII text passes through; non-ASCII letters are parts of words.
    assert_eq!(swap("Le garçon et l’homme — he’s 男人"), "Le garçon et l’homme — she’s 男人");
    assert_eq!(swap("mañ man"), "mañ woman");
    let s = list.swap("ÉTÉ: the man");
    assert_eq!(s.swaps[0].byte_offset, "ÉTÉ: the ".len());
    assert!(s.to_html().contains("woman"));
}

#[test]
fn display_lists_the_swaps() {
    let s = gender().swap("He is his.");
    assert_eq!(s.text, "She is hers.");
    let text = s.to_string();
    assert!(text.starts_with("He is his. → She is hers.\n"), "{text}");
    assert!(text.contains("  his → hers  (byte 6)"), "{text}");
    assert!(s.to_html().contains("hers</b>"));
}
