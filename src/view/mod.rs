//! The view layer: the one trait every result students look at implements ([`show::View`]: its HTML, text, CSV,
//! chart and notebook display), the notebook's display protocol, HTML escaping and the palette ([`display`]), and
//! charts drawn with plotters ([`chart`]). Each result type implements [`show::View`] beside its own code; the model
//! card that puts results together is [`crate::report`].

pub mod chart;
pub mod display;
pub mod show;
