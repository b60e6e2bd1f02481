"""SwishNet (Hussain & Haque 2018) as reproduced by report 004 (T. Degamboda, 2021)."""
