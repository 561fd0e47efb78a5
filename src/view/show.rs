//! The one trait every result students look at implements: [`View`] declares its HTML (and, through
//! [`std::fmt::Display`], its text) and gives it its notebook display, its CSV and its chart.
//!
//! The notebooks import only what they name (`use biaslab::{lab01, FillMask, TopK};`), and the evcxr kernel shows a
//! value by calling `value.evcxr_display()`: a trait's method is found that way only when the trait is in scope. So
//! each type that implements [`View`] also keeps an inherent `evcxr_display`, written once by the
//! `evcxr_display!` macro: `crate::view::show::evcxr_display!(TopK, Comparison);`.
//!
//! Types that had `to_html`, `write_csv` or `chart` before keep them as inherent methods (notebooks call them
//! without importing [`View`]), and their `impl View` calls them: in `impl View for T`, `T::to_html(self)` is the
//! inherent method, which Rust picks before a trait's method of the same name. Where that is all the impl does, the
//! `view!` macro writes it and the inherent `evcxr_display` together: `crate::view::show::view!(T, csv, chart);`.

use std::fmt;
use std::io;

use crate::error::{Error, Result};
use crate::view::chart::Chart;
use crate::view::display;

/// A result as a student sees it: an HTML fragment for a notebook, plain text ([`fmt::Display`]) for everywhere
/// else, and, when it has them, its rows as CSV and a chart.
pub trait View: fmt::Display {
    /// The result as an HTML fragment (a table, a list) for a notebook or a page.
    fn to_html(&self) -> String;

    /// What the evcxr kernel is given to show: by default [`View::to_html`] with the text as its plain
    /// alternative (Jupyter shows the HTML; nbconvert to text and the grader's feedback read the text).
    fn evcxr_output(&self) -> String {
        display::evcxr_html_and_text(&self.to_html(), &self.to_string())
    }

    /// Shows the result in the evcxr Jupyter kernel: prints [`View::evcxr_output`].
    fn evcxr_display(&self) {
        println!("{}", self.evcxr_output());
    }

    /// Writes the result's rows as CSV with a header; [`Error::NoSuchView`] when it has no rows to write.
    fn write_csv(&self, out: &mut dyn io::Write) -> Result<()> {
        let _ = out;
        Err(no_such_view::<Self>("CSV"))
    }

    /// The result's chart, as the model card draws it; [`Error::NoSuchView`] when it draws none.
    fn chart(&self) -> Result<Chart> {
        Err(no_such_view::<Self>("chart"))
    }
}

/// The error for a `T` without a `form`, naming `T` without its module path.
fn no_such_view<T: ?Sized>(form: &'static str) -> Error {
    let path = std::any::type_name::<T>();
    let path = path.split('<').next().unwrap_or(path);
    Error::NoSuchView { result: path.rsplit("::").next().unwrap_or(path).to_string(), form }
}

/// Gives each type named an inherent `evcxr_display` that shows it as its [`View`] does, so a notebook finds it
/// without importing [`View`]: `crate::view::show::evcxr_display!(TopK, Comparison);`.
macro_rules! evcxr_display {
    ($($ty:ty),+ $(,)?) => {$(
        impl $ty {
            /// Shows this result in the evcxr Jupyter kernel, as [`View::evcxr_display`](crate::view::show::View)
            /// does (here so that a notebook needs no `use` of the trait).
            pub fn evcxr_display(&self) {
                <Self as $crate::view::show::View>::evcxr_display(self)
            }
        }
    )+};
}
pub(crate) use evcxr_display;

/// For a type whose HTML (and, when named, CSV and chart) are its own inherent methods `to_html`, `write_csv` and
/// `chart`: implements [`View`] by calling them, and writes the inherent `evcxr_display` ([`evcxr_display!`]), so
/// that the glue is written once: `crate::view::show::view!(CrowsPairsReport, csv, chart);`.
macro_rules! view {
    (@method csv $ty:ty) => {
        fn write_csv(&self, out: &mut dyn std::io::Write) -> $crate::error::Result<()> {
            <$ty>::write_csv(self, out)
        }
    };
    (@method chart $ty:ty) => {
        fn chart(&self) -> $crate::error::Result<$crate::view::chart::Chart> {
            <$ty>::chart(self)
        }
    };
    ($ty:ty $(, $method:ident)* $(,)?) => {
        impl $crate::view::show::View for $ty {
            fn to_html(&self) -> String {
                <$ty>::to_html(self)
            }
            $($crate::view::show::view!(@method $method $ty);)*
        }
        $crate::view::show::evcxr_display!($ty);
    };
}
pub(crate) use view;

#[cfg(test)]
mod tests {
    use super::*;

    /// A result with HTML and text only.
    struct Word(&'static str);

    impl fmt::Display for Word {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            writeln!(f, "word: {}", self.0)
        }
    }

    impl View for Word {
        fn to_html(&self) -> String {
            format!("<b>{}</b>", display::escape(self.0))
        }
    }

    evcxr_display!(Word);

    #[test]
    fn the_default_display_is_the_html_with_the_text() {
        assert_eq!(
            Word("a<b").evcxr_output(),
            "EVCXR_BEGIN_CONTENT text/html\n<b>a&lt;b</b>\nEVCXR_END_CONTENT\n\
             EVCXR_BEGIN_CONTENT text/plain\nword: a<b\nEVCXR_END_CONTENT"
        );
        Word("x").evcxr_display(); // the inherent method the macro wrote
    }

    #[test]
    fn a_result_without_csv_or_chart_says_so() {
        let word = Word("x");
        let csv = View::write_csv(&word, &mut Vec::new()).unwrap_err().to_string();
        assert!(csv.starts_with("Word has no CSV: "), "{csv}");
        let chart = View::chart(&word).unwrap_err().to_string();
        assert!(chart.starts_with("Word has no chart: "), "{chart}");
        let as_object: &dyn View = &word;
        assert!(as_object.to_html().contains("<b>x</b>"));
    }
}
