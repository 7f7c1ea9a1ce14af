import unittest

from calc import add, mean


class CalcTest(unittest.TestCase):
    def test_add_is_exact(self):
        self.assertEqual(add("0.1", "0.2"), "0.3")

    def test_mean(self):
        self.assertEqual(mean(["1", "2", "4"]), "2.333333333333333333333333333")

    def test_mean_of_nothing(self):
        with self.assertRaises(ValueError):
            mean([])


if __name__ == "__main__":
    unittest.main()
