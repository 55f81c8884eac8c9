"""Documents tradecover renders for people: letters and statements as PDF (fpdf2), from plain view objects."""
