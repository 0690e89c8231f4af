/** The wire name of the user: the receiver of the message that answers them, as in DB-GPT. */
export const HUMAN = 'Human';
