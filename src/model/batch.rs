//! Padding: token-id sequences of different lengths as one batch, the ids and attention mask an encoder takes.
//!
//! Every batched forward pass of the crate pads the same way, as transformers' tokenizers do by default for BERT:
//! on the right, with the model's padding id, to the longest sequence of the batch, nothing cut. What a caller
//! does beyond that stays with it: which sequences go together and in what order, masking tokens for training,
//! refusing texts longer than the model reads.

use candle_core::{Device, Tensor};

use crate::error::Result;

/// Sequences padded on the right into one batch.
#[derive(Debug, Clone)]
pub struct PaddedBatch {
    /// Token ids, u32, (sequences, longest): each sequence followed by the padding id up to the longest.
    pub input_ids: Tensor,
    /// u32, (sequences, longest): 1 at a sequence's tokens, 0 at its padding. The encoder makes its additive mask
    /// from it; mean pooling converts it to f32.
    pub attention_mask: Tensor,
    /// Each sequence's length, without padding.
    pub lengths: Vec<usize>,
    /// The longest length: the tensors' width, so position `p` of sequence `s` is row `s * longest + p` of the
    /// hidden states flattened to (sequences · longest, hidden).
    pub longest: usize,
}

/// Pads `sequences` on the right with `pad_id` to the longest of them, with the attention mask, on `device`.
/// No sequence gives a (0, 0) batch.
pub fn pad<S: AsRef<[u32]>>(sequences: &[S], pad_id: u32, device: &Device) -> Result<PaddedBatch> {
    let lengths: Vec<usize> = sequences.iter().map(|s| s.as_ref().len()).collect();
    let longest = lengths.iter().copied().max().unwrap_or(0);
    let mut ids = Vec::with_capacity(sequences.len() * longest);
    let mut mask = Vec::with_capacity(sequences.len() * longest);
    for sequence in sequences {
        let sequence = sequence.as_ref();
        ids.extend(sequence.iter().copied().chain(std::iter::repeat(pad_id)).take(longest));
        mask.extend((0..longest).map(|i| u32::from(i < sequence.len())));
    }
    let shape = (sequences.len(), longest);
    Ok(PaddedBatch {
        input_ids: Tensor::from_vec(ids, shape, device)?,
        attention_mask: Tensor::from_vec(mask, shape, device)?,
        lengths,
        longest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_on_the_right_to_the_longest() {
        let batch = pad(&[vec![5, 6, 7], vec![8]], 0, &Device::Cpu).unwrap();
        assert_eq!(batch.input_ids.to_vec2::<u32>().unwrap(), [[5, 6, 7], [8, 0, 0]]);
        assert_eq!(batch.attention_mask.to_vec2::<u32>().unwrap(), [[1, 1, 1], [1, 0, 0]]);
        assert_eq!((batch.lengths, batch.longest), (vec![3, 1], 3));
    }

    #[test]
    fn takes_slices_and_an_empty_batch() {
        let batch = pad(&[&[1u32, 2][..], &[3, 4]], 9, &Device::Cpu).unwrap();
        assert_eq!(batch.attention_mask.to_vec2::<u32>().unwrap(), [[1, 1], [1, 1]]);
        let empty = pad::<Vec<u32>>(&[], 9, &Device::Cpu).unwrap();
        assert_eq!((empty.input_ids.dims(), empty.longest), (&[0, 0][..], 0));
    }
}
